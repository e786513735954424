/**
 * The Modbus side of a polled family's driver instance, written once: its bus, which asks for a
 * poll at once when it (re)connects, and the read of one device's register blocks, whose failure
 * the host's poll schedule reads right (a bus fault, when no device can answer, is `LinkDown`: no
 * per-device backoff).
 */
import { type DriverContext, LinkDown } from '../../gateway/devices/driver-api.js';
import { ModbusBus, type ModbusBusOptions } from './modbus-bus.js';
import { isBusFault, toModbusError } from './modbus-errors.js';
import { type Blocks, readBlocks, type RegisterMap } from './register-map.js';

export function openPolledBus(
  cfg: Pick<ModbusBusOptions, 'transport' | 'timeoutMs' | 'backoff'>,
  ctx: Pick<DriverContext, 'log' | 'pollNow'>,
): ModbusBus {
  const bus = new ModbusBus({ transport: cfg.transport, timeoutMs: cfg.timeoutMs, backoff: cfg.backoff, log: ctx.log });
  // Poll at once when the bus (re)connects rather than waiting for the next tick.
  bus.on('connected', () => ctx.pollNow());
  return bus;
}

/** One request per block of the model: FC1-FC4 (Modbus Application Protocol V1.1b3 §6.1-§6.4). */
export async function readDevice(bus: ModbusBus, unitId: number, map: RegisterMap): Promise<Blocks> {
  try {
    return await readBlocks(bus, unitId, map);
  } catch (err) {
    const e = toModbusError(err, `unit ${unitId}`);
    throw isBusFault(e) ? new LinkDown(e.message) : e;
  }
}
