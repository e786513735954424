/** Serves simulated e-bike piles over Modbus TCP on loopback; their loads advance in real time. */
import type { EbikeModel } from '../../drivers/ebike-pile/models.js';
import { type RunningModbusTcp, serveModbusTcp } from '../common/modbus-servers.js';
import { EbikePileSimulator } from './simulator.js';

export interface EbikeSimulatorTcpOptions {
  host?: string;
  /** 0 or absent: a free port is picked. */
  port?: number;
  units: readonly (number | { unitId: number; model?: EbikeModel })[];
  /** Real ms between two steps of the loads (default 200). */
  tickMs?: number;
  /** Simulated ms per real ms (default 1; 10 runs the curves ten times faster; 0: time moves only by `sim.step`). */
  speedup?: number;
}

export interface RunningEbikeSimulatorTcp extends RunningModbusTcp {
  sim: EbikePileSimulator;
}

export async function startEbikeSimulatorTcp(o: EbikeSimulatorTcpOptions): Promise<RunningEbikeSimulatorTcp> {
  const sim = new EbikePileSimulator(o.units);
  const tick = o.tickMs ?? 200;
  const timer = setInterval(() => sim.step(tick * (o.speedup ?? 1)), tick);
  timer.unref();
  sim.dispose = () => clearInterval(timer);
  return { ...(await serveModbusTcp(sim, { host: o.host, port: o.port, what: 'e-bike pile' })), sim };
}
