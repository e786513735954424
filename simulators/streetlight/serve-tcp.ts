/** Serves simulated streetlight controllers over Modbus TCP on loopback; their energy meters advance in real time. */
import type { LightModel } from '../../drivers/streetlight/models.js';
import { type RunningModbusTcp, serveModbusTcp } from '../common/modbus-servers.js';
import { StreetlightSimulator } from './simulator.js';

export interface StreetlightSimulatorTcpOptions {
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  units: readonly (number | { unitId: number; model?: LightModel })[];
  /** Real ms between two steps of the meters (default 1000). */
  tickMs?: number;
  /** Simulated ms per real ms (default 1; 0: time moves only by `sim.step`). */
  speedup?: number;
}

export interface RunningStreetlightSimulatorTcp extends RunningModbusTcp {
  sim: StreetlightSimulator;
}

export async function startStreetlightSimulatorTcp(o: StreetlightSimulatorTcpOptions): Promise<RunningStreetlightSimulatorTcp> {
  const sim = new StreetlightSimulator(o.units);
  const tick = o.tickMs ?? 1000;
  const timer = setInterval(() => sim.step(tick * (o.speedup ?? 1)), tick);
  timer.unref();
  sim.dispose = () => clearInterval(timer);
  return { ...(await serveModbusTcp(sim, { host: o.host, port: o.port, what: 'streetlight' })), sim };
}
