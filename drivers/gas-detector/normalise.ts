/**
 * Pure normalisation of one poll of a gas detector: registers read -> validated reading ->
 * new state and the events it causes. No I/O, no clock: `now` is passed in.
 *
 * Events (the contract; rules and the city platform match on these names):
 * - `gas.reading`  telemetry/info: on the first reading, when the level moved more than the
 *   deadband since the last report, on a status or threshold change, and every reportIntervalMs;
 * - `gas.alarm.low` alarm/major, `gas.alarm.high` alarm/critical: on entering that status;
 * - `gas.normal` event/info: back to normal from low or high alarm;
 * - `gas.fault` alarm/major {faultCode}: on entering fault, or a new fault code while in fault;
 * - `gas.fault.cleared` event/info: on leaving fault.
 */
import { z } from 'zod';
import type { DeviceEvent, EventKind, Severity } from '../../gateway/devices/driver-api.js';
import { type Blocks, InvalidRegisters, readFields } from '../modbus/register-map.js';
import { GAS_STATUSES, type GasModel, type GasStatus } from './models.js';

export { GAS_STATUSES, type GasStatus } from './models.js';

export interface GasState {
  /** %LEL; null only while in fault with an out-of-range level (a broken sensor). */
  lel: number | null;
  status: GasStatus;
  lowThreshold: number;
  highThreshold: number;
  faultCode: number;
  /** Level and time (epoch ms) of the last `gas.reading` sent. */
  reportedLel: number | null;
  reportedAt: number;
}

export interface ReportPolicy {
  deviceId: string;
  /** %LEL change since the last report that is reported at once. */
  lelDeadband: number;
  reportIntervalMs: number;
}

export type NormaliseResult =
  | { ok: true; state: GasState; events: DeviceEvent[] }
  | { ok: false; reason: string };

const Reading = z
  .object({
    status: z.enum(GAS_STATUSES, {
      error: (iss) => `status register value ${String(iss.input)} is not a known state`,
    }),
    lel: z.number().min(0, 'level below 0 %LEL').max(100, 'level above 100 %LEL').nullable(),
    lowThreshold: z.number().gt(0, 'low alarm threshold must be above 0 %LEL').max(100, 'above 100 %LEL'),
    highThreshold: z.number().gt(0, 'high alarm threshold must be above 0 %LEL').max(100, 'above 100 %LEL'),
    faultCode: z.number().int(),
  })
  .refine((r) => r.lowThreshold < r.highThreshold, {
    message: 'low alarm threshold must be below the high alarm threshold',
    path: ['lowThreshold'],
  });

/** Registers read -> typed values per the model; range checks are the schema's job. */
function decode(input: Blocks | readonly number[], model: GasModel): Record<string, unknown> {
  // A bare list of words is the model's only block (a one-block model, as most detectors are).
  const blocks = Array.isArray(input) ? { [Object.keys(model.blocks)[0]!]: input as readonly number[] } : (input as Blocks);
  const v = readFields(model, blocks);
  let lel: unknown = v.lel;
  // A detector in fault may report garbage as its level (e.g. 0xFFFF): keep the fault, drop the level.
  if (v.status === 'fault' && typeof lel === 'number' && (lel < 0 || lel > 100)) lel = null;
  return { status: v.status, lel, lowThreshold: v.lowThreshold, highThreshold: v.highThreshold, faultCode: v.faultCode ?? 0 };
}

export function normalise(
  prev: GasState | undefined,
  input: Blocks | readonly number[],
  model: GasModel,
  now: Date,
  policy: ReportPolicy,
): NormaliseResult {
  let values: Record<string, unknown>;
  try {
    values = decode(input, model);
  } catch (err) {
    if (err instanceof InvalidRegisters) return { ok: false, reason: err.message };
    throw err;
  }
  const parsed = Reading.safeParse(values);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'reading'}: ${i.message}`).join('; '),
    };
  }
  const r = parsed.data;
  const data = { lel: r.lel, lowThreshold: r.lowThreshold, highThreshold: r.highThreshold, status: r.status };
  const event = (
    type: string,
    kind: EventKind,
    severity: Severity,
    extra?: Record<string, unknown>,
  ): DeviceEvent => ({
    deviceId: policy.deviceId,
    type,
    kind,
    severity,
    deviceTime: null,
    receivedAt: now,
    data: extra ? { ...data, ...extra } : { ...data },
  });

  const events: DeviceEvent[] = [];
  const statusChanged = prev?.status !== r.status;
  if (statusChanged) {
    if (prev?.status === 'fault') events.push(event('gas.fault.cleared', 'event', 'info'));
    if (r.status === 'low') events.push(event('gas.alarm.low', 'alarm', 'major'));
    else if (r.status === 'high') events.push(event('gas.alarm.high', 'alarm', 'critical'));
    else if (r.status === 'fault')
      events.push(event('gas.fault', 'alarm', 'major', { faultCode: r.faultCode }));
    else if (prev?.status === 'low' || prev?.status === 'high')
      events.push(event('gas.normal', 'event', 'info'));
  } else if (r.status === 'fault' && r.faultCode !== prev?.faultCode) {
    events.push(event('gas.fault', 'alarm', 'major', { faultCode: r.faultCode }));
  }

  const t = now.getTime();
  const reportDue =
    !prev ||
    statusChanged ||
    r.lowThreshold !== prev.lowThreshold ||
    r.highThreshold !== prev.highThreshold ||
    levelMoved(prev.reportedLel, r.lel, policy.lelDeadband) ||
    t - prev.reportedAt >= policy.reportIntervalMs;
  if (reportDue) events.push(event('gas.reading', 'telemetry', 'info'));

  // Field by field: spreading the schema's output object is several times slower (it is on the hot path of every poll).
  const state: GasState = {
    lel: r.lel,
    status: r.status,
    lowThreshold: r.lowThreshold,
    highThreshold: r.highThreshold,
    faultCode: r.faultCode,
    reportedLel: reportDue ? r.lel : (prev?.reportedLel ?? null),
    reportedAt: reportDue ? t : (prev?.reportedAt ?? t),
  };
  return { ok: true, state, events };
}

function levelMoved(reported: number | null, lel: number | null, deadband: number): boolean {
  if (reported === null || lel === null) return reported !== lel;
  return Math.abs(lel - reported) > deadband;
}
