/**
 * Runs the access-gate family in a real driver host against simulated ISAPI terminals on
 * loopback, for tests: each terminal pushes to the driver's listener, the driver logs in to it.
 */
import { freePort } from '../../../gateway/core/free-port.js';
import type { DriverConfig } from '../../../gateway/devices/driver-api.js';
import { type HostHarness, type HostHarnessOptions, startHost } from '../../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../../gateway/testing/wait-for.js';
import { DEMO_PEOPLE } from '../../../simulators/access-gate/compound.js';
import { GateSimulator, type GateSimulatorOptions } from '../../../simulators/access-gate/simulator.js';
import { AccessGateConfig, accessGate } from '../index.js';
import { PUSH_PATH } from '../driver.js';

export const API = { username: 'admin', password: 'Gate-admin-1' };
export const pushAccount = (id: string) => ({ username: `push-${id}`, password: `push-secret-${id}` });

export interface GateRig {
  h: HostHarness;
  sims: Map<string, GateSimulator>;
  sim: GateSimulator;
  /** The driver's listener. */
  listenUrl: string;
  pushUrl: string;
  config: AccessGateConfig;
  /** Stops the host (the terminals keep running). */
  stopHost(): Promise<void>;
  /** Starts a new host on the same listener port and database file. */
  restartHost(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  gates?: string[];
  sim?: Partial<GateSimulatorOptions>;
  /** Device entry fields per gate (e.g. doors). */
  device?: Record<string, unknown>;
  driver?: Record<string, unknown>;
  host?: Partial<HostHarnessOptions>;
  /** Push retries of the terminals (default 2, 50 ms apart). */
  pushRetries?: number;
}

/** Terminals `gate-1`... each with 2 doors, fast doors, pushing with few quick retries. */
export async function startRig(o: RigOptions = {}): Promise<GateRig> {
  const port = await freePort();
  const listenUrl = `http://127.0.0.1:${port}`;
  const pushUrl = `${listenUrl}${PUSH_PATH}`;
  const sims = new Map<string, GateSimulator>();
  for (const id of o.gates ?? ['gate-1']) {
    const sim = new GateSimulator({
      username: API.username,
      password: API.password,
      doors: 2,
      people: DEMO_PEOPLE,
      openMs: 200,
      heldOpenMs: 400,
      push: { url: pushUrl, ...pushAccount(id), retries: o.pushRetries ?? 2, retryMs: 50 },
      ...o.sim,
    });
    await sim.start();
    sims.set(id, sim);
  }
  const config = AccessGateConfig.parse({
    id: 'gates',
    family: 'access-gate',
    listen: { host: '127.0.0.1', port },
    pollIntervalMs: 1000,
    requestTimeoutMs: 1000,
    offlineAfterFailures: 1,
    backoff: { initialMs: 200, maxMs: 500 },
    devices: [...sims].map(([id, sim]) => ({
      id,
      building: 'B1',
      zone: 'north-gate',
      url: sim.url,
      api: API,
      push: pushAccount(id),
      doors: 2,
      ...o.device,
    })),
    ...o.driver,
  });
  const boot = () => startHost({ families: [accessGate], drivers: [config as DriverConfig], ...o.host });
  const rig: GateRig = {
    h: boot(),
    sims,
    sim: sims.values().next().value!,
    listenUrl,
    pushUrl,
    config,
    stopHost: () => rig.h.close(),
    async restartHost() {
      rig.h = boot();
      await running(rig.h);
    },
    async close() {
      await rig.h.close();
      await Promise.all([...sims.values()].map((s) => s.close()));
    },
  };
  await running(rig.h);
  return rig;
}

async function running(h: HostHarness): Promise<void> {
  await waitFor('driver running', () => h.host.status()[0]?.state === 'running');
}

/** Refusals counted for the driver, by reason. */
export async function refusals(h: HostHarness): Promise<Record<string, number>> {
  const m = await h.metrics.driverRefused.get();
  return Object.fromEntries(m.values.filter((v) => v.labels.driver === 'gates').map((v) => [String(v.labels.reason), v.value]));
}
