/**
 * The access-gate driver: ISAPI face-recognition terminals that push their events to the
 * gateway (HTTP listening host, Digest both ways), with the AcsEvent search to catch up after
 * downtime and remote door control.
 *
 * Per terminal, records are handled one at a time, in the terminal's serial order: the last
 * serial number reported is kept in the driver store, so a record is reported once whichever
 * way it came (push, retry, search). A push whose serial number skips some first fetches the
 * skipped ones (reported `historical: true`), then itself.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  type CommandHandlers,
  type CommandResult,
  type DriverContext,
  type DriverInstance,
  errorMessage,
} from '../../gateway/devices/driver-api.js';
import { DigestServer, type DigestRefusal } from '../http/digest.js';
import { codeTable, type EventCode } from './event-codes.js';
import { type DoorCmd, IsapiClient } from './isapi-client.js';
import { type AcsRecord, fromPush, normalise } from './normalise.js';
import { MAX_PUSH_BYTES, parsePush } from './push.js';
import type { AccessGateConfig, AccessGateDevice, Account } from './schema.js';

/** Where terminals push (the URL of their HTTP listening host settings). */
export const PUSH_PATH = '/ISAPI/events';
/** Digest realm the gateway presents to terminals. */
export const PUSH_REALM = 'compound-gateway';

const DoorArgs = z.strictObject({ door: z.number().int().min(1).max(32).default(1) });
export const GATE_COMMANDS = {
  'door.open': DoorArgs,
  'door.close': DoorArgs,
  'door.always-open': DoorArgs,
  'door.always-close': DoorArgs,
  'door.resume': DoorArgs,
} as const;
export type GateCommands = typeof GATE_COMMANDS;
const DOOR_CMD: Record<keyof GateCommands, DoorCmd> = {
  'door.open': 'open',
  'door.close': 'close',
  'door.always-open': 'alwaysOpen',
  'door.always-close': 'alwaysClose',
  'door.resume': 'resume',
};

/** Digest outcomes counted as refusals (`stale` is not: the terminal had the password). */
const REFUSAL: Record<Exclude<DigestRefusal, 'stale'>, string> = {
  'no-credentials': 'no-credentials',
  malformed: 'shape',
  'unknown-user': 'unknown-sender',
  'wrong-credentials': 'auth',
  replay: 'replay',
};

interface Last {
  serial: number;
  /** The terminal's time of that record, as it wrote it: the next search starts there. */
  time?: string;
}

interface Terminal {
  device: AccessGateDevice;
  client?: IsapiClient;
  pushPassword?: string;
  /** Records may be missing since the last one reported: search before trusting a push. */
  behind: boolean;
  /** Records of this terminal are handled one at a time. */
  queue: Promise<unknown>;
}

async function secret(a: Account, where: string): Promise<string> {
  if (a.password !== undefined) return a.password;
  const text = await readFile(a.passwordFile!, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${where}.passwordFile ${a.passwordFile}: ${err.code ?? err.message}; the gateway must be able to read it`);
  });
  return text.split(/\r?\n/, 1)[0]!;
}

export class AccessGateDriver implements DriverInstance<AccessGateDevice, GateCommands> {
  readonly commands: CommandHandlers<GateCommands, AccessGateDevice>;
  private readonly terminals = new Map<string, Terminal>();
  private readonly byPushUser = new Map<string, Terminal>();
  private readonly table: ReadonlyMap<string, EventCode>;
  private readonly digest: DigestServer;
  private stopped = false;

  constructor(
    private readonly config: AccessGateConfig,
    private readonly ctx: DriverContext,
  ) {
    this.table = codeTable(config.eventCodes);
    for (const device of config.devices) {
      const t: Terminal = { device, behind: true, queue: Promise.resolve() };
      this.terminals.set(device.id, t);
      this.byPushUser.set(device.push.username, t);
    }
    this.digest = new DigestServer({
      realm: PUSH_REALM,
      password: (user) => this.byPushUser.get(user)?.pushPassword,
      now: () => ctx.clock.now(),
    });
    ctx.http.route('POST', PUSH_PATH, (req, res) => this.onPush(req, res));
    const handler = (name: keyof GateCommands) => (device: AccessGateDevice, args: z.output<typeof DoorArgs>) =>
      this.door(device, args.door, DOOR_CMD[name]);
    this.commands = {
      'door.open': handler('door.open'),
      'door.close': handler('door.close'),
      'door.always-open': handler('door.always-open'),
      'door.always-close': handler('door.always-close'),
      'door.resume': handler('door.resume'),
    };
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (const [id, t] of this.terminals) {
      const { api, push, url } = t.device;
      t.client = new IsapiClient(url, { username: api.username, password: await secret(api, `devices.${id}.api`) }, this.config.requestTimeoutMs);
      t.pushPassword = await secret(push, `devices.${id}.push`);
    }
    // Catch up with what happened while the gateway was down; the poll retries a terminal that does not answer.
    for (const t of this.terminals.values()) void this.exclusive(t, () => this.catchUp(t)).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.terminals.values()].map((t) => t.queue.catch(() => undefined)));
  }

  /** The host's check of a terminal; after a failure the next good one catches up first. */
  async poll(device: AccessGateDevice): Promise<void> {
    const t = this.terminals.get(device.id)!;
    try {
      await t.client!.deviceInfo();
    } catch (err) {
      t.behind = true;
      throw err;
    }
    if (t.behind) await this.exclusive(t, () => this.catchUp(t));
  }

  private async door(device: AccessGateDevice, door: number, cmd: DoorCmd): Promise<CommandResult> {
    if (door > device.doors)
      return { ok: false, error: `${device.id} has ${device.doors} door(s); there is no door ${door} (set doors: in its config if it has more)` };
    try {
      await this.terminals.get(device.id)!.client!.remoteControl(door, cmd);
    } catch (err) {
      return { ok: false, error: `${device.id} door ${door} ${cmd}: ${errorMessage(err)}` };
    }
    this.ctx.seen(device.id);
    return { ok: true, data: { door, cmd } };
  }

  private async onPush(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const check = this.digest.check(req.method ?? 'POST', req.url ?? '', req.headers.authorization);
    if (!check.ok) {
      if (check.reason !== 'stale') this.ctx.refused(REFUSAL[check.reason], { why: check.detail, user: check.username });
      res.writeHead(401, { 'www-authenticate': this.digest.challenges(check.reason === 'stale'), 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ statusCode: 4, statusString: 'Unauthorized' }));
    }
    const t = this.byPushUser.get(check.username)!;
    const body = await this.ctx.http.body(req, MAX_PUSH_BYTES);
    const push = await parsePush(body, req.headers['content-type']);
    if (!push.ok) {
      this.ctx.refused(push.reason, { device: t.device.id, why: push.message });
      return reply(res, push.status, { statusCode: 6, statusString: 'Invalid Content', errorMsg: push.message });
    }
    const ace = push.notification.AccessControllerEvent;
    if (!ace) {
      // A heartbeat, or a notification this family does not turn into events: the terminal is alive.
      this.ctx.seen(t.device.id);
      return reply(res, 200, { statusCode: 1, statusString: 'OK' });
    }
    const record = fromPush({ ...push.notification, AccessControllerEvent: ace });
    const handled = await this.exclusive(t, () => this.receive(t, record, push.picture)).then(
      () => true,
      (err: unknown) => {
        this.ctx.log.warn({ device: t.device.id, err: errorMessage(err) }, 'could not fetch the records a push skipped; the terminal will retry');
        return false;
      },
    );
    if (handled) return reply(res, 200, { statusCode: 1, statusString: 'OK' });
    // Nothing is lost: the terminal keeps the record and retries, and the next poll searches.
    res.setHeader('retry-after', '30');
    reply(res, 503, { statusCode: 2, statusString: 'Device Busy' });
  }

  /** A pushed record: after the ones it skipped, unless it was reported already. */
  private async receive(t: Terminal, record: AcsRecord, picture: Buffer | undefined): Promise<void> {
    const last = this.last(t);
    if (last && record.serialNo <= last.serial) return this.ctx.seen(t.device.id);
    if (t.behind || (last && record.serialNo > last.serial + 1)) await this.catchUp(t, record.serialNo);
    let pictureRef: string | undefined;
    if (picture) {
      try {
        pictureRef = this.ctx.files.save(picture, 'jpg');
      } catch (err) {
        this.ctx.log.warn({ device: t.device.id, err: errorMessage(err) }, 'picture not stored');
      }
    }
    this.report(t, record, { ...(pictureRef ? { pictureRef } : {}) });
  }

  /** Reports every record after the last one reported (and before `before`), oldest first. */
  private async catchUp(t: Terminal, before?: number): Promise<void> {
    if (this.stopped) return;
    const { catchUp } = this.config;
    const last = this.last(t);
    const now = this.ctx.clock.now();
    if (!last && catchUp.firstStartLookbackMs === 0) {
      t.behind = false; // First start: nothing to catch up with; reporting starts with the next record.
      return;
    }
    const offset = offsetOf(last?.time);
    const outcome = await t.client!.searchEvents({
      startTime: last?.time ?? isapiTime(now - catchUp.firstStartLookbackMs, offset),
      // A day ahead: the terminal's clock may be ahead of ours.
      endTime: isapiTime(now + 86_400_000, offset),
      pageSize: catchUp.pageSize,
      maxEvents: catchUp.maxEvents,
    });
    this.ctx.seen(t.device.id);
    const from = last?.serial ?? -1;
    const fresh = outcome.records
      .filter((r) => r.serialNo > from && (before === undefined || r.serialNo < before))
      .sort((a, b) => a.serialNo - b.serialNo)
      .filter((r, i, all) => i === 0 || all[i - 1]!.serialNo !== r.serialNo);
    for (const r of fresh) {
      if (this.stopped) return;
      this.report(t, r, { historical: true });
    }
    if (fresh.length > 0) this.ctx.log.info({ device: t.device.id, records: fresh.length }, 'caught up with the terminal');
    t.behind = !outcome.complete;
    if (!outcome.complete) this.ctx.log.warn({ device: t.device.id, max: catchUp.maxEvents }, 'more records to catch up with: the next poll goes on');
  }

  private report(t: Terminal, r: AcsRecord, o: { historical?: boolean; pictureRef?: string }): void {
    const deviceId = t.device.id;
    const events = normalise(r, this.table, o);
    for (const e of events) this.ctx.emit({ deviceId, ...e });
    if (events.length === 0) this.ctx.seen(deviceId);
    this.ctx.store.set(`last/${deviceId}`, { serial: r.serialNo, ...(r.time ? { time: r.time } : {}) } satisfies Last);
  }

  private last(t: Terminal): Last | undefined {
    return this.ctx.store.get<Last>(`last/${t.device.id}`);
  }

  private exclusive<T>(t: Terminal, fn: () => Promise<T>): Promise<T> {
    const next = t.queue.then(fn, fn);
    t.queue = next.catch(() => undefined);
    return next;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The UTC offset of an ISAPI time (`+08:00`), in minutes; 0 when it has none. */
function offsetOf(time: string | undefined): number {
  const m = time ? /([+-])(\d\d):?(\d\d)$/.exec(time) : null;
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/** An ISAPI time, e.g. 2026-05-01T08:00:00+08:00, at the given offset. */
export function isapiTime(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
