import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { canListen, planDemoPorts, portHolder } from './ports.js';

const run = promisify(execFile);
const DEMO = new URL('../../config/examples/demo-compound.yaml', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;

const held: Server[] = [];
async function hold(): Promise<number> {
  const srv = createServer();
  held.push(srv);
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, r));
  return (srv.address() as { port: number }).port;
}
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('demo ports', () => {
  it('names the process holding a port, or "another program" where /proc says nothing', async () => {
    const port = await hold();
    expect(portHolder(port)).toMatch(new RegExp(`\\(pid ${process.pid}\\b`));
    expect(portHolder(port, '/nonexistent')).toBe('another program');
  });

  it('the built-in demo moves a held broker port to a free one and says so; a chosen port is never moved', async () => {
    const port = await hold();
    const cfg = loadConfig(DEMO);
    const withHeld = { ...cfg, broker: { ...cfg.broker, listeners: [{ type: 'tcp' as const, host: '127.0.0.1', port }] }, http: { ...cfg.http, port: 0 } };
    const plan = await planDemoPorts(withHeld, { builtIn: true, simPort: 0, simPortChosen: false });
    const moved = plan.config.broker.listeners[0]!.port;
    expect(moved).not.toBe(port);
    expect(await canListen('127.0.0.1', moved)).toBe(true);
    expect(plan.notes).toEqual([
      expect.stringMatching(new RegExp(`^port ${port} is in use by .*pid ${process.pid}.*: the local broker's tcp listener listens on 127\\.0\\.0\\.1:${moved} instead \\(--broker-port to choose\\)$`)),
    ]);
    await expect(planDemoPorts(withHeld, { builtIn: false, simPort: 0, simPortChosen: false })).rejects.toThrow(
      `port ${port} for the local broker's tcp listener (127.0.0.1) is in use by`,
    );
  });

  it('`gateway demo --broker-port <held>` exits non-zero naming the holder, before starting anything', async () => {
    const port = await hold();
    const err = await run(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'demo', '--broker-port', String(port)], {
      cwd: ROOT,
      timeout: 120_000,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain(`error [BROKER_LISTEN]: port ${port} for the local broker's tcp listener (127.0.0.1) is in use by`);
    expect(err?.stderr).toContain(`pid ${process.pid}`);
    expect(err?.stderr).toContain('hint: stop that program');
    expect(err?.stderr).toContain('--broker-port');
    expect(err?.stdout).not.toContain('Demo compound');
  }, 150_000);
});
