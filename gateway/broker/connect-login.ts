import type { AuthenticateError, Client } from 'aedes';
import type { LoginGuard } from '../auth/login-guard.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Credential } from './accounts.js';
import { type AclAccount, ANONYMOUS } from './acl.js';
import type { ClientIdOwners } from './client-ids.js';
import type { DeniedEvent, DenyReason } from './deny-reasons.js';

/**
 * The login of a CONNECT: whom the client connects as (an account whose password the login guard
 * checked, or anonymous in demo mode only) and whether it may use its client id. Each refusal is
 * counted and logged, and answered with its CONNACK return code (§3.2.2.3).
 */

// §3.2.2.3 CONNACK return codes.
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface ConnectLoginDeps {
  /** Demo mode: clients without a user name connect as {@link ANONYMOUS}. */
  demo: boolean;
  guard: LoginGuard;
  credentials: ReadonlyMap<string, Credential>;
  clientIds: ClientIdOwners;
  log: Logger;
  /** The source address of the client's connection, when known. */
  sourceOf(client: Client): string | undefined;
  /** Counts and logs a refusal. */
  deny(event: DeniedEvent): void;
}

export interface ConnectLogin {
  /** The account the client logs in as; rejects with the CONNACK refusal otherwise. */
  login(client: Client, username?: string, password?: Buffer): Promise<AclAccount>;
  /** Refuses (throws) a client id this account may not use; binds it to the account otherwise. */
  claimClientId(client: Client, account: AclAccount): void;
}

export function connectLogin(deps: ConnectLoginDeps): ConnectLogin {
  const { guard, credentials, clientIds, log } = deps;

  async function login(client: Client, username?: string, password?: Buffer): Promise<AclAccount> {
    const source = deps.sourceOf(client) ?? 'unknown';
    // [MQTT-3.1.3-8]: a zero-byte client id needs clean session.
    if (clientIds.sentEmpty(client) && !client.clean) {
      throw refusal(client, username, IDENTIFIER_REJECTED, 'client-id-empty');
    }
    if (username === undefined) {
      if (deps.demo) return ANONYMOUS;
      throw refusal(client, undefined, NOT_AUTHORIZED, 'anonymous');
    }
    const credential = credentials.get(username);
    const outcome = await guard
      .login(source, username, password ?? Buffer.alloc(0), credential?.hash)
      .catch((err: unknown) => {
        log.error({ err, username }, 'password check failed');
        throw refusal(client, username, SERVER_UNAVAILABLE, 'password-check-failed');
      });
    if (!outcome.ok && outcome.reason === 'throttled') {
      // Try again later: the source address or user name is locked out, or password checks are busy.
      throw refusal(client, username, SERVER_UNAVAILABLE, 'throttled');
    }
    if (!outcome.ok || !credential || password === undefined) {
      throw refusal(client, username, BAD_USERNAME_OR_PASSWORD, 'bad-credentials');
    }
    return credential.account;
  }

  function claimClientId(client: Client, account: AclAccount): void {
    const reason = clientIds.claim(client, account);
    if (reason) {
      throw refusal(client, account === ANONYMOUS ? undefined : account.username, IDENTIFIER_REJECTED, reason);
    }
  }

  function refusal(
    client: Client,
    username: string | undefined,
    code: number,
    reason: DenyReason,
  ): AuthenticateError {
    deps.deny({ action: 'connect', clientId: client.id, username, reason, source: deps.sourceOf(client) });
    return Object.assign(new GatewayError('BROKER_AUTH', `connection refused: ${reason}`), {
      returnCode: code as AuthenticateError['returnCode'],
    });
  }

  return { login, claimClientId };
}
