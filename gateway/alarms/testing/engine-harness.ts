/** Test harness: a real journal and pipeline with the alarm engine on a manual clock, without drivers. */
import { setTimeout as sleep } from 'node:timers/promises';
import { gasDetector } from '../../../drivers/gas-detector/index.js';
import type { DeviceEvent, DeviceRef, EventEnvelope } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import { createMetrics } from '../../core/metrics.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import type { AnyFamily, CommandResult } from '../../devices/driver-api.js';
import type { Watches } from '../../core/watches.js';
import { Journal } from '../../journal/journal.js';
import { AlarmEventData } from '../alarm-contract.js';
import { AlarmEngine } from '../alarm-engine.js';
import { AlarmStore } from '../alarm-store.js';
import type { Alarm } from '../../core/alarm-types.js';
import { ManualClock } from '../../core/clock.js';
import { type AlarmsConfig, Rule, type RuleInput } from '../../core/rule-schema.js';
import { compile, effectiveRules, linkageFailedRule } from '../rule-set.js';

export const log = createLogger('silent');

export const DEVICES: DeviceRef[] = [
  { id: 'gw-01', family: 'gateway', tags: [] },
  { id: 'gas-b1-101', family: 'gas-detector', building: 'B1', zone: 'kitchen-101', tags: ['kitchen'] },
  { id: 'gas-b1-102', family: 'gas-detector', building: 'B1', zone: 'kitchen-102', tags: ['kitchen'] },
  { id: 'gas-b2-101', family: 'gas-detector', building: 'B2', zone: 'kitchen-101', tags: ['kitchen'] },
  {
    id: 'gas-boiler-1',
    family: 'gas-detector',
    building: 'plant',
    zone: 'boiler-room',
    tags: ['boiler', 'valve'],
  },
];

export interface HarnessOptions {
  rules?: RuleInput[];
  alarms?: Partial<AlarmsConfig>;
  builtin?: boolean;
  tiers?: { name: string; afterMs: number }[];
  clock?: ManualClock;
  journalPath?: string;
  execute?: (deviceId: string, name: string, args: unknown) => Promise<CommandResult>;
  /** Families whose built-in rules apply (with `builtin`); default: the gas detector. */
  families?: AnyFamily[];
  /** Devices besides DEVICES. */
  devices?: DeviceRef[];
  /** What watching devices (cameras) have in view. */
  watches?: ReadonlyMap<string, Watches>;
  /** The rules see each event as it is stamped, before its commit, as in the gateway (default: once committed). */
  atIngest?: boolean;
}

export function startHarness(o: HarnessOptions = {}) {
  const clock = o.clock ?? new ManualClock(Date.parse('2026-11-23T09:30:00Z'));
  const journal = new Journal({
    path: o.journalPath ?? ':memory:',
    synchronous: 'NORMAL',
    retention: { maxAgeDays: 30, maxSizeMB: 100 },
  });
  const devices = new Map([...DEVICES, ...(o.devices ?? [])].map((d) => [d.id, d]));
  const pipeline = new Pipeline({
    site: 's',
    gateway: 'gw-01',
    journal,
    devices,
    metrics: createMetrics(),
    log,
  });
  const siteRules = (o.rules ?? []).map((r) => Rule.parse(r));
  const rules = o.builtin
    ? effectiveRules(
        { builtinRules: true, disable: [], maintenance: [], ...o.alarms },
        siteRules,
        o.families ?? [gasDetector],
      )
    : siteRules.map((r) => compile(r, false));
  const commands: { deviceId: string; name: string; args: unknown }[] = [];
  const notified: { alarm: string; tier: number }[] = [];
  const execute =
    o.execute ??
    (async (deviceId: string, name: string, args: unknown): Promise<CommandResult> => {
      commands.push({ deviceId, name, args });
      return { ok: true };
    });
  const engine = new AlarmEngine({
    watches: o.watches,
    rules,
    linkageFailed: linkageFailedRule(siteRules),
    store: new AlarmStore(journal.db),
    journal,
    ingest: (e) => pipeline.ingest(e),
    devices,
    execute: async (d, n, a) => {
      if (o.execute) commands.push({ deviceId: d, name: n, args: a });
      return execute(d, n, a);
    },
    tiers: o.tiers ?? [{ name: 'duty', afterMs: 0 }],
    maintenance: o.alarms?.maintenance ?? [],
    clock,
    log,
    hooks: { notify: (a, tier) => notified.push({ alarm: a.id, tier }) },
  });
  const events: EventEnvelope[] = [];
  if (o.atIngest) pipeline.onIngested((env) => engine.handle(env));
  pipeline.onCommitted((env) => {
    events.push(env);
    engine.committed(env);
    if (!o.atIngest) engine.handle(env);
  });
  engine.start();

  /** Lets every commit (and the alarm events it causes) and pending promise settle. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await pipeline.committed();
      await sleep(1);
      if (!pipeline.pendingCount) return;
    }
  }
  async function emit(e: Omit<DeviceEvent, 'kind' | 'severity'> & Partial<DeviceEvent>): Promise<void> {
    pipeline.ingest({ kind: 'event', severity: 'info', ...e });
    await settle();
  }
  const alarmEvents = (type?: string) =>
    events.filter((e) => e.type.startsWith('alarm.') && (!type || e.type === type));
  const alarmOf = (env: EventEnvelope) => (env.data as { alarm: Alarm }).alarm;

  return {
    clock,
    journal,
    pipeline,
    engine,
    events,
    commands,
    notified,
    emit,
    settle,
    alarmEvents,
    alarmOf,
    async advance(ms: number) {
      clock.advance(ms);
      await settle();
    },
    async close() {
      await settle();
      // Every alarm event this test produced matches the documented contract (docs/schemas/alarm-event-data.schema.json).
      for (const e of alarmEvents()) {
        if (e.type === 'alarm.suppressed') continue;
        const r = AlarmEventData.safeParse(e.data);
        if (!r.success) throw new Error(`${e.type} does not match AlarmEventData: ${r.error.message}`);
      }
      engine.stop();
      pipeline.flush();
      journal.close();
    },
  };
}
