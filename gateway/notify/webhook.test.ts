import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { type NotificationOutcome, Notifier } from './notifier.js';
import { NotifyConfig } from './notify-schema.js';
import { sampleAlarm } from '../testing/sample-alarm.js';

const alarm = sampleAlarm();

describe('local webhook channel', () => {
  it('POSTs the alarm as JSON, retries a failure, skips tiers above the severity, reports the outcome', async () => {
    const bodies: unknown[] = [];
    let fail = 1;
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        bodies.push({ headers: req.headers, body: JSON.parse(text) });
        res.writeHead(fail-- > 0 ? 503 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alarm`;
    const outcomes: NotificationOutcome[] = [];
    const n = new Notifier({
      config: NotifyConfig.parse({
        channels: [{ type: 'webhook', id: 'pa', url, headers: { 'x-token': 'abc' }, retryDelay: '10ms' }],
        tiers: [
          { name: 'duty', channels: ['pa'] },
          { name: 'manager', after: '15m', channels: ['pa'], minSeverity: 'critical' },
        ],
      }),
      site: 'site-1',
      gateway: 'gw-01',
      log: createLogger('silent'),
      record: (_id, o) => outcomes.push(o),
    });
    try {
      n.notify(alarm, 0);
      await n.idle();
      expect(outcomes).toEqual([{ channel: 'pa', ok: true, attempts: 2 }]);
      expect(bodies).toHaveLength(2);
      expect(bodies[1]).toMatchObject({
        headers: { 'content-type': 'application/json', 'x-token': 'abc' },
        body: {
          site: 'site-1',
          gateway: 'gw-01',
          tier: 'duty',
          alarm: { id: alarm.id, rule: 'gas-high', severity: 'critical' },
        },
      });
      n.notify({ ...alarm, severity: 'major' }, 1); // below the manager tier's minimum
      await n.idle();
      expect(outcomes).toHaveLength(1);
    } finally {
      await n.close();
      server.close();
    }
  });
});
