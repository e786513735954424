import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  bootGateway,
  CONSOLE_PASSWORD,
  CONSOLE_USER,
  feedClient,
  siteConfig,
  startGasSim,
} from '../alarms/testing/gateway-harness.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const basic = (user: string, pw: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
});

// The whole gateway with the ops server asking for a login (as it does on a LAN address; here
// requireLogin on loopback, since tests listen on 127.0.0.1 only).
describe('gateway ops server and console feed with a login required', () => {
  it('one LoginGuard for HTTP and the feed; /healthz anonymous shows status only; idle feed clients closed and counted', async () => {
    const sim = await startGasSim();
    cleanup.push(() => sim.close());
    const gw = await bootGateway(
      siteConfig(sim, {
        http: { host: '127.0.0.1', port: 0, requireLogin: true, consoleFeed: { loginTimeout: '300ms' } },
      }),
    );
    cleanup.push(() => gw.close());
    const url = gw.http.url;

    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true, status: 'ok' });

    // Ten wrong guesses over HTTP lock this source out of the feed too: the guard is shared.
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${url}/metrics`, { headers: basic('intruder', `guess-${i}`) })).status).toBe(401);
    }
    expect((await fetch(`${url}/metrics`, { headers: basic(CONSOLE_USER, CONSOLE_PASSWORD) })).status).toBe(429);
    const locked = await feedClient(url);
    cleanup.push(async () => locked.close());
    const answer = await locked.request({ op: 'login', username: CONSOLE_USER, password: CONSOLE_PASSWORD });
    expect(answer).toMatchObject({ type: 'login', ok: false, error: expect.stringMatching(/too many failed logins/) });

    // A client that never logs in is closed once http.consoleFeed.loginTimeout is over.
    const idle = new WebSocket(`${url.replace(/^http/, 'ws')}/alarms/feed`);
    const code = await new Promise<number>((resolve) => idle.once('close', (c) => resolve(c)));
    expect(code).toBe(4001);
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).toMatch(/gateway_ops_refused_total\{reason="feed-login-timeout"\} [1-9]/);
    expect(metrics).toMatch(/gateway_ops_refused_total\{reason="bad-credentials"\} 10/);
    expect(metrics).toMatch(/gateway_ops_refused_total\{reason="no-login"\} 1/);
  });
});
