#!/usr/bin/env node
/**
 * Liveness check of the gateway service, run every minute by compound-gateway-liveness.timer:
 * `node liveness.js /etc/compound-gateway/site.yaml`. It asks the ops server's /healthz (any HTTP
 * answer, even 503 while stopping, is alive); after three probes 10 s apart without an answer it
 * restarts compound-gateway.service. A stopped service is left alone.
 *
 * Chosen over systemd's own watchdog (Type=notify, WatchdogSec=): that needs sd_notify from Node,
 * and the npm modules for it are native addons built against libsystemd, not kept up to date.
 */
import { execFileSync } from 'node:child_process';
import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../config/load.js';

const UNIT = 'compound-gateway.service';
const PROBES = 3;
const PROBE_TIMEOUT_MS = 5000;
const PAUSE_MS = 10_000;

/** The address a local client reaches the ops server at (a wildcard bind is reached on loopback). */
export function healthzUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}/healthz`;
}

/** True when the URL answered anything over HTTP within the timeout. */
export function answers(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

async function main(siteFile: string | undefined): Promise<number> {
  if (!siteFile) {
    console.error('usage: liveness.js <site.yaml>');
    return 2;
  }
  const active = (): boolean => {
    try {
      execFileSync('systemctl', ['is-active', '--quiet', UNIT]);
      return true;
    } catch {
      return false;
    }
  };
  if (!active()) return 0;
  const cfg = loadConfig(siteFile);
  const url = healthzUrl(cfg.http.host, cfg.http.port);
  for (let i = 1; i <= PROBES; i++) {
    if (await answers(url, PROBE_TIMEOUT_MS)) return 0;
    console.error(`${url}: no answer within ${PROBE_TIMEOUT_MS} ms (probe ${i} of ${PROBES})`);
    if (i < PROBES) await sleep(PAUSE_MS);
  }
  if (!active()) return 0;
  console.error(`${UNIT}: ${url} did not answer ${PROBES} probes: restarting it`);
  execFileSync('systemctl', ['restart', UNIT], { stdio: 'inherit' });
  return 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main(process.argv[2]).then((code) => (process.exitCode = code));
}
