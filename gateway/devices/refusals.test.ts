import { describe, expect, it } from 'vitest';
import { captureLog } from '../broker/broker-test-kit.js';
import { createMetrics } from '../core/metrics.js';
import { refusalCounter } from './refusals.js';

async function count(metrics: ReturnType<typeof createMetrics>, reason: string): Promise<number> {
  const m = await metrics.driverRefused.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.driver === 'push-1')?.value ?? 0;
}

describe('refusalCounter', () => {
  it('counts every refusal by driver, family and reason', async () => {
    const metrics = createMetrics();
    const { log } = captureLog('warn');
    const refused = refusalCounter({ driver: 'push-1', family: 'push-sensor', metrics, log });
    refused('auth');
    refused('auth');
    refused('too-large', { bytes: 9999 });
    expect(await count(metrics, 'auth')).toBe(2);
    expect(await count(metrics, 'too-large')).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('gateway_driver_refused_total{driver="push-1",family="push-sensor",reason="auth"} 2');
  });

  it('logs one line per reason per window, then says how many it left out', () => {
    const metrics = createMetrics();
    const { log, lines } = captureLog('warn');
    let t = 0;
    const refused = refusalCounter({ driver: 'push-1', family: 'push-sensor', metrics, log, now: () => t });
    for (let i = 0; i < 1000; i++) refused('auth', { source: '10.0.0.9' });
    refused('shape');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ reason: 'auth', detail: { source: '10.0.0.9' } });
    t = 10_001;
    refused('auth');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toMatchObject({ reason: 'auth', suppressed: 999 });
  });

  it('keeps the label set bounded whatever reasons a driver passes', async () => {
    const metrics = createMetrics();
    const { log } = captureLog('silent');
    const refused = refusalCounter({ driver: 'push-1', family: 'push-sensor', metrics, log });
    for (let i = 0; i < 100; i++) refused(`reason-${i}`);
    refused('x'.repeat(500));
    const m = await metrics.driverRefused.get();
    expect(m.values.length).toBeLessThanOrEqual(33);
    expect(await count(metrics, 'other')).toBe(69);
  });
});
