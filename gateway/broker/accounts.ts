import { type ParsedHash, parsePasswordHash } from '../auth/password.js';
import { GatewayError } from '../core/errors.js';
import { isValidFilter } from './acl.js';
import type { Account } from './broker-config.js';

/**
 * The broker's accounts, checked once at start: unique user names, valid topic filters (§4.7),
 * and each password hash parsed, so that a malformed one stops the start rather than a login.
 */

export interface Credential {
  account: Account;
  hash: ParsedHash;
}

/** Parses every account's hash once, at start; refuses duplicate names and malformed filters. */
export function loadAccounts(accounts: readonly Account[]): Map<string, Credential> {
  const byName = new Map<string, Credential>();
  for (const account of accounts) {
    const where = `broker account "${account.username}"`;
    if (byName.has(account.username)) {
      throw new GatewayError('BROKER_ACCOUNTS', `${where} is listed twice`, 'user names must be unique');
    }
    for (const filter of [...(account.publish ?? []), ...(account.subscribe ?? [])]) {
      if (!isValidFilter(filter)) {
        throw new GatewayError('BROKER_ACCOUNTS', `${where}: "${filter}" is not a valid MQTT topic filter`);
      }
    }
    let hash: ParsedHash;
    try {
      hash = parsePasswordHash(account.passwordHash);
    } catch (err) {
      throw new GatewayError(
        'BROKER_ACCOUNTS',
        `${where}: malformed passwordHash`,
        'create it with `gateway hash-password`',
        {
          cause: err,
        },
      );
    }
    byName.set(account.username, { account, hash });
  }
  return byName;
}
