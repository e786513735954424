/**
 * Test and benchmark harness: the real Journal + Pipeline + Uplink, without drivers or the
 * local broker. Devices: the gateway itself and `count` gas detectors `gas-1`..`gas-<count>`.
 */
import { Writable } from 'node:stream';
import type { Execute } from '../../commands/commands.js';
import type { DeviceRef, EventKind } from '../../core/envelope.js';
import { createLogger } from '../../core/logger.js';
import { createMetrics } from '../../core/metrics.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { topicRoot } from '../../core/topics.js';
import { Journal } from '../../journal/journal.js';
import type { OutboxRow } from '../outbox.js';
import { Uplink } from '../uplink.js';
import { UplinkConfig, type UplinkConfigInput } from '../uplink-config.js';

export const SITE = 'test-site';
export const GATEWAY = 'gw-test';
export const ROOT = topicRoot(SITE, GATEWAY);

export interface HarnessOptions {
  dbPath: string;
  uplink: UplinkConfigInput;
  devices?: number;
  execute?: Execute;
  synchronous?: 'FULL' | 'NORMAL';
  trace?: (what: 'publish' | 'ack', row: OutboxRow, historical: boolean) => void;
  /** Log level of the captured log (default debug). */
  logLevel?: string;
  /** Also write the log here (e.g. stderr of a child process). */
  logTo?: NodeJS.WritableStream;
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export function createHarness(o: HarnessOptions) {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not JSON
        }
        o.logTo?.write(`${line}\n`);
      }
      cb();
    },
  });
  const log = createLogger(o.logLevel ?? 'debug', sink);
  const metrics = createMetrics();
  const journal = new Journal({
    path: o.dbPath,
    synchronous: o.synchronous ?? 'NORMAL',
    retention: { maxAgeDays: 30, maxSizeMB: 100_000 },
  });
  const devices = new Map<string, DeviceRef>([[GATEWAY, { id: GATEWAY, family: 'gateway', tags: [] }]]);
  for (let i = 1; i <= (o.devices ?? 10); i++) {
    devices.set(`gas-${i}`, {
      id: `gas-${i}`,
      family: 'gas-detector',
      building: `B${1 + (i % 4)}`,
      tags: [],
    });
  }
  const pipeline = new Pipeline({
    site: SITE,
    gateway: GATEWAY,
    journal,
    devices,
    metrics,
    log: log.child({ component: 'pipeline' }),
  });
  const config = UplinkConfig.parse(o.uplink);
  const uplink = new Uplink({
    config,
    site: SITE,
    gateway: GATEWAY,
    root: ROOT,
    version: 'test',
    db: journal.db,
    ingest: (e) => pipeline.ingest(e),
    execute: o.execute ?? (async () => ({ ok: false, error: 'no devices in this harness' })),
    familyOf: (id) => devices.get(id)?.family,
    birthDevices: () =>
      [...devices.values()].map((d) => ({
        ...d,
        commands: d.family === 'gas-detector' ? ['valve.close', 'valve.open'] : [],
        eventTypes: [],
      })),
    durable: journal,
    metrics,
    log: log.child({ component: 'uplink' }),
    trace: o.trace,
  });
  journal.addTxHook(uplink.txHook);

  let n = 0;
  /**
   * Offers one event of the given lane on a rotating device, as a driver does: returns its envelope,
   * or undefined for telemetry that waits (unstamped, coalescing) while the pipeline is behind.
   */
  function offer(kind: EventKind, data: Record<string, unknown> = {}) {
    n += 1;
    const deviceId = `gas-${1 + (n % (o.devices ?? 10))}`;
    const type = kind === 'alarm' ? 'gas.alarm.high' : kind === 'event' ? 'gas.normal' : 'gas.reading';
    const severity = kind === 'alarm' ? 'critical' : 'info';
    return pipeline.ingest({ deviceId, type, kind, severity, data: { lel: n % 100, n, ...data } });
  }
  /** Like `offer`, for a test that needs the envelope: throws when the event was not stamped at once. */
  function emit(kind: EventKind, data: Record<string, unknown> = {}) {
    const env = offer(kind, data);
    // Telemetry beyond one batch per tick waits (unstamped) and coalesces: callers keep bursts smaller.
    if (!env) throw new Error(`event not stamped at once (rejected, or ${kind} waiting for a batch)`);
    return env;
  }

  return {
    log,
    logs,
    metrics,
    journal,
    pipeline,
    uplink,
    offer,
    emit,
    async close() {
      pipeline.flush();
      await uplink.close();
      journal.close();
    },
  };
}
export type Harness = ReturnType<typeof createHarness>;
