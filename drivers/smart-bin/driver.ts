/**
 * The smart-bin driver: bin stations publish JSON on the embedded broker (see `messages.ts`).
 * Refused and counted, never stored: a station the site file does not list (`unknown-sender`),
 * a station under another account's topic (`wrong-owner`), a message over `MAX_MESSAGE_BYTES`
 * (`too-large`), text that is not JSON (`shape`). JSON from the right account that does not
 * match the message schema is invalid device data (`ctx.invalid`).
 *
 * A status is `bin.level` telemetry; changes of full compartments, tilt and door are events, and
 * smoke and overheating are alarms when they start. A drop is stored (deduplicated by station and
 * drop id) and reported as `bin.drop`.
 */
import type { DeviceMessage, DriverContext } from '../../gateway/devices/driver-api.js';
import { type BinEventType, BIN_SEVERITY } from './events.js';
import { type DropRecord, dropKey, pruneDrops } from './drops.js';
import { DropMessage, MAX_MESSAGE_BYTES, StatusMessage } from './messages.js';
import { accountOf, type Category, type SmartBinConfig, type SmartBinStation } from './schema.js';

const DAY_MS = 86_400_000;

/** What the driver remembers of a station's last status, to report changes only. */
interface Flags {
  full: Category[];
  overheat: boolean;
  smoke: boolean;
  tilt: boolean;
  doorOpen: boolean;
}
const NONE: Flags = { full: [], overheat: false, smoke: false, tilt: false, doorOpen: false };

export class SmartBinDriver {
  readonly commands = {};
  private readonly stations = new Map<string, SmartBinStation>();

  constructor(
    private readonly config: SmartBinConfig,
    private readonly ctx: DriverContext,
  ) {
    for (const s of config.devices) this.stations.set(s.id, s);
    ctx.subscribe('dev/+/+/status', (m) => this.receive(m, 'status'));
    ctx.subscribe('dev/+/+/drop', (m) => this.receive(m, 'drop'));
  }

  async start(): Promise<void> {
    const n = pruneDrops(this.ctx.store, this.ctx.clock.now() - this.config.keepDays * DAY_MS);
    if (n > 0) this.ctx.log.info({ deleted: n, keepDays: this.config.keepDays }, 'old drop records deleted');
  }

  private receive(msg: DeviceMessage, what: 'status' | 'drop'): void {
    const [, account, id] = msg.topic.split('/') as [string, string, string];
    const station = this.stations.get(id);
    if (!station) return this.ctx.refused('unknown-sender', { topic: msg.topic, username: msg.username });
    // The broker lets account <a> publish only under dev/<a>/; the station must be one of <a>'s.
    if (accountOf(station) !== account || (msg.username !== undefined && msg.username !== account)) {
      return this.ctx.refused('wrong-owner', { topic: msg.topic, username: msg.username, owner: accountOf(station) });
    }
    if (msg.payload.length > MAX_MESSAGE_BYTES) {
      return this.ctx.refused('too-large', { topic: msg.topic, bytes: msg.payload.length, max: MAX_MESSAGE_BYTES });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(msg.payload.toString('utf8'));
    } catch {
      return this.ctx.refused('shape', { topic: msg.topic, what: 'not JSON' });
    }
    if (what === 'status') this.status(station, raw);
    else this.drop(station, raw);
  }

  private emit(station: SmartBinStation, type: BinEventType, data: Record<string, unknown>, time?: string): void {
    this.ctx.emit({
      deviceId: station.id,
      type,
      kind: type === 'bin.overheat' || type === 'bin.smoke' ? 'alarm' : type === 'bin.level' ? 'telemetry' : 'event',
      severity: BIN_SEVERITY[type],
      deviceTime: time ? new Date(time) : null,
      data,
    });
  }

  private status(station: SmartBinStation, raw: unknown): void {
    const r = StatusMessage.safeParse(raw);
    if (!r.success) return this.ctx.invalid(station.id, `not a status: ${issues(r.error)}`, raw);
    const s = r.data;
    const levels = Object.fromEntries(Object.entries(s.compartments).map(([c, v]) => [c, v.level]));
    this.emit(station, 'bin.level', levels, s.time);

    const key = `flags/${station.id}`;
    const was = this.ctx.store.get<Flags>(key) ?? NONE;
    const now: Flags = {
      full: Object.entries(s.compartments)
        .filter(([, v]) => v.full)
        .map(([c]) => c as Category)
        .sort(),
      overheat: s.overheat,
      smoke: s.smoke,
      tilt: s.tilt,
      doorOpen: s.doorOpen,
    };
    const celsius = s.temperature === undefined ? {} : { celsius: s.temperature };
    // Fire risks first: they are alarms, the rest are state changes.
    if (now.smoke && !was.smoke) this.emit(station, 'bin.smoke', celsius, s.time);
    if (now.overheat && !was.overheat) this.emit(station, 'bin.overheat', celsius, s.time);
    if (now.full.join() !== was.full.join()) {
      this.emit(station, 'bin.full', { full: now.full.length > 0, compartments: now.full }, s.time);
    }
    if (now.tilt !== was.tilt) this.emit(station, 'bin.tilt', { tilted: now.tilt }, s.time);
    if (now.doorOpen !== was.doorOpen) this.emit(station, 'bin.door', { open: now.doorOpen }, s.time);
    if (JSON.stringify(now) !== JSON.stringify(was)) this.ctx.store.set(key, now);
  }

  private drop(station: SmartBinStation, raw: unknown): void {
    const r = DropMessage.safeParse(raw);
    if (!r.success) return this.ctx.invalid(station.id, `not a drop: ${issues(r.error)}`, raw);
    const d = r.data;
    const key = dropKey(station.id, d.dropId);
    if (this.ctx.store.get(key) !== undefined) {
      // A resend (the station missed the acknowledgement): heard, already recorded.
      this.ctx.seen(station.id);
      return;
    }
    const who = {
      ...(d.householdId !== undefined ? { householdId: d.householdId } : {}),
      ...(d.cardId !== undefined ? { cardId: d.cardId } : {}),
    };
    this.emit(station, 'bin.drop', { dropId: d.dropId, ...who, category: d.category, weightG: d.weightG, correct: d.correct }, d.time);
    const record: DropRecord = {
      station: station.id,
      ...(station.building !== undefined ? { building: station.building } : {}),
      ...who,
      category: d.category,
      weightG: d.weightG,
      correct: d.correct,
      time: d.time ? new Date(d.time).toISOString() : new Date(this.ctx.clock.now()).toISOString(),
    };
    this.ctx.store.set(key, record);
  }
}

function issues(err: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return err.issues.map((i) => `${i.path.map(String).join('.') || '(message)'}: ${i.message}`).join('; ');
}
