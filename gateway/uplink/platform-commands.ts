/**
 * Commands from the city platform: `<root>/cmd/<deviceId>/<command>`
 * on the city broker. Each request is checked against the allow-list of the platform account
 * and the device's family, audited in SQLite (who, what, when, result), refused when expired,
 * executed through the gateway's one command path, and answered exactly once.
 */
import type Database from 'better-sqlite3';
import { type Execute, handleCommandRequest } from '../commands/commands.js';
import type { CommandResponse } from '../core/contract-payloads.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { UplinkConfig } from './uplink-config.js';

export type CommandResult = CommandResponse['status'] | 'refused';

export interface CommandMessageProps {
  /** MQTT 5 user properties of the request (`account` may be given here). */
  userProperties?: Record<string, string | string[]>;
  /** MQTT 5 response topic: the response goes there instead of `<root>/cmd-response/<deviceId>`. */
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface PlatformCommandsOptions {
  db: Database.Database;
  config: UplinkConfig['commands'];
  root: string;
  execute: Execute;
  /** Family of a configured device, undefined for an unknown device. */
  familyOf: (deviceId: string) => string | undefined;
  /** Publishes one response (QoS 1). */
  respond: (topic: string, payload: string, correlationData?: Buffer) => Promise<void>;
  log: Logger;
  onResult?: (result: CommandResult) => void;
  now?: () => Date;
}

export interface AuditRow {
  id: number;
  receivedAt: number;
  account: string;
  requestId: string;
  deviceId: string;
  command: string;
  args: string | null;
  result: string;
  error: string | null;
  finishedAt: number | null;
}

export function createAuditTable(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS uplink_command_audit (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      received_at INTEGER NOT NULL,
      account TEXT NOT NULL,
      request_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      command TEXT NOT NULL,
      args TEXT,
      result TEXT NOT NULL,
      error TEXT,
      finished_at INTEGER
    );
    CREATE UNIQUE INDEX IF NOT EXISTS uplink_command_audit_request
      ON uplink_command_audit (account, request_id, device_id, command) WHERE request_id <> '';
  `);
}

export function readAudit(db: Database.Database, limit = 100): AuditRow[] {
  return db
    .prepare(
      `SELECT id, received_at AS receivedAt, account, request_id AS requestId, device_id AS deviceId, command, args, result,
              error, finished_at AS finishedAt FROM uplink_command_audit ORDER BY id DESC LIMIT ?`,
    )
    .all(limit) as AuditRow[];
}

/** True when one of the account's grants covers the family and the command. */
export function isAllowed(
  cfg: UplinkConfig['commands'],
  account: string,
  family: string | undefined,
  command: string,
): boolean {
  const acc = cfg.accounts.find((a) => a.account === account);
  if (!acc || !family) return false;
  return acc.allow.some(
    (g) =>
      (g.family === '*' || g.family === family) && (g.commands.includes('*') || g.commands.includes(command)),
  );
}

export class PlatformCommands {
  private readonly insert: Database.Statement;
  private readonly finish: Database.Statement;

  constructor(private readonly o: PlatformCommandsOptions) {
    createAuditTable(o.db);
    this.insert = o.db.prepare(
      `INSERT OR IGNORE INTO uplink_command_audit (received_at, account, request_id, device_id, command, args, result)
       VALUES (?, ?, ?, ?, ?, ?, 'received')`,
    );
    this.finish = o.db.prepare(
      'UPDATE uplink_command_audit SET result = ?, error = ?, finished_at = ? WHERE id = ?',
    );
  }

  /** The subscription filter on the city broker. */
  get filter(): string {
    return `${this.o.root}/cmd/+/+`;
  }

  /** Handles one request; never throws. Resolves once the response is published (or failed). */
  async handle(topic: string, payload: Buffer, props: CommandMessageProps = {}): Promise<void> {
    const now = this.o.now ?? (() => new Date());
    const [deviceId = '', command = ''] = topic.slice(`${this.o.root}/cmd/`.length).split('/');
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(payload.toString());
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        json = parsed as Record<string, unknown>;
    } catch {
      // answered as invalid below by handleCommandRequest (after the account check)
    }
    const prop = props.userProperties?.account;
    const account =
      typeof json.account === 'string' ? json.account : ((Array.isArray(prop) ? prop[0] : prop) ?? '');
    const requestId = typeof json.id === 'string' ? json.id : '';
    const responseTopic = props.responseTopic || `${this.o.root}/cmd-response/${deviceId}`;

    let auditId: number;
    try {
      const r = this.insert.run(
        now().getTime(),
        account,
        requestId,
        deviceId,
        command,
        json.args === undefined ? null : JSON.stringify(json.args),
      );
      if (!r.changes) {
        // The same request again (QoS 1 redelivery or a replay): it was answered once already.
        this.o.log.warn(
          { account, requestId, deviceId, command },
          'duplicate platform command ignored (already audited and answered)',
        );
        return;
      }
      auditId = Number(r.lastInsertRowid);
    } catch (err) {
      // Without an audit row nothing is executed.
      this.o.log.error(
        { err: errorMessage(err), account, deviceId, command },
        'command audit failed; command refused',
      );
      await this.send(responseTopic, props.correlationData, {
        id: requestId,
        deviceId,
        command,
        status: 'error',
        error: 'the gateway could not audit the command; not executed',
        at: now().toISOString(),
      });
      return;
    }

    let res: CommandResponse;
    let result: CommandResult;
    const family = this.o.familyOf(deviceId);
    if (!isAllowed(this.o.config, account, family, command)) {
      result = 'refused';
      const who = account ? `account "${account}"` : 'a request without an account';
      res = {
        id: requestId,
        deviceId,
        command,
        status: 'error',
        error: `not authorised: ${who} may not send "${command}" to ${family ? `a ${family}` : `unknown device "${deviceId}"`}`,
        at: now().toISOString(),
      };
    } else {
      res = await handleCommandRequest(this.o.execute, deviceId, command, payload, {
        now,
        onAccepted: (accepted) => {
          this.audit('accepted', null, null, auditId);
          void this.send(responseTopic, props.correlationData, accepted);
        },
      });
      result = res.status;
    }
    this.audit(result, res.error ?? null, now().getTime(), auditId);
    this.o.onResult?.(result);
    this.o.log.info(
      { audit: 'command', source: 'city-platform', account, result, ...res },
      'platform command',
    );
    await this.send(responseTopic, props.correlationData, res);
  }

  private audit(result: CommandResult, error: string | null, finishedAt: number | null, auditId: number): void {
    try {
      this.finish.run(result, error, finishedAt, auditId);
    } catch (err) {
      this.o.log.error({ err: errorMessage(err), auditId }, 'command audit update failed');
    }
  }

  private async send(
    topic: string,
    correlationData: Buffer | undefined,
    res: CommandResponse,
  ): Promise<void> {
    try {
      await this.o.respond(topic, JSON.stringify(res), correlationData);
    } catch (err) {
      this.o.log.error(
        { err: errorMessage(err), topic, id: res.id },
        'command response not delivered to the city broker',
      );
    }
  }
}
