/**
 * The io-module part of the compound simulator: for a bus on loopback Modbus TCP, one simulator
 * serving every module of the bus. Each module is changed through the control API by its id
 * (raw bits, like a wire on the terminal block), and each bound input and output by its own id
 * (in its own terms: a button is pressed, a contact opens, with `activeLow` applied).
 * An RTU bus or a non-loopback address drives real modules: not simulated.
 */
import { z } from 'zod';
import { type IoModuleConfig, modelOf } from '../../drivers/io-module/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import { startIoSimulatorTcp } from './serve-tcp.js';
import type { IoModuleSimulator } from './simulator.js';
import { simulatedTcpAddress } from '../common/modbus-servers.js';

const N = z.number().int().min(1);
const Ms = z.number().int().min(50).max(60_000);

const ModuleChange = z
  .strictObject({
    /** Raw bit of an input (true = energised), or of an output switched by hand at the module. */
    input: N.optional(),
    output: N.optional(),
    value: z.boolean().optional(),
    /** Input on, then off after `ms` (default 500). */
    press: N.optional(),
    ms: Ms.optional(),
    /** The next read of this input shows the opposite value, once. */
    glitch: N.optional(),
    /** This output ignores writes from now on / again obeys them. */
    stuck: N.optional(),
    unstuck: N.optional(),
    responding: z.boolean().optional(),
  })
  .refine((c) => (c.input === undefined && c.output === undefined) === (c.value === undefined), {
    message: '"value" goes with "input" or "output", e.g. {"input": 3, "value": true}',
  });

const InputChange = z.strictObject({
  /** Button pressed / contact open / input true. */
  active: z.boolean().optional(),
  /** Active for `ms` (default 500), then at rest: a button press. */
  press: z.literal(true).optional(),
  ms: Ms.optional(),
  glitch: z.literal(true).optional(),
});

const OutputChange = z.strictObject({ on: z.boolean().optional(), stuck: z.boolean().optional() });

export const simulator: FamilySimulator = {
  changeHint:
    'module: {"input": 3, "value": true}, {"press": 3}, {"glitch": 3}, {"stuck": 2}, {"unstuck": 2}, {"responding": false}; input: {"active": true}, {"press": true}; output: {"stuck": true}, {"on": true}',
  async start(config: DriverConfig, log: Logger) {
    const io = config as unknown as IoModuleConfig;
    const at = simulatedTcpAddress(io, log);
    if (!at) return undefined;
    const running = await startIoSimulatorTcp({
      host: at.host,
      port: at.port,
      // Every bound input starts at rest: a normally-closed (activeLow) one energised.
      modules: io.modules.map((m) => ({
        unitId: m.unitId,
        model: modelOf(io, m.model),
        inputs: Array.from({ length: 256 }, (_, i) => io.inputs.some((p) => p.module === m.id && p.input === i + 1 && p.activeLow)),
      })),
    });
    const { sim } = running;
    const unitOf = new Map(io.modules.map((m) => [m.id, m.unitId]));
    const unit = (module: string) => unitOf.get(module) ?? 0;
    const devices: SimulatedDevice[] = [
      ...io.modules.map((m) => moduleDevice(sim, m.id, m.unitId)),
      ...io.inputs.map((i): SimulatedDevice => ({
        id: i.id,
        family: 'io-module',
        state: () => ({ module: i.module, input: i.input, active: sim.inputs(unit(i.module))[i.input - 1] !== i.activeLow }),
        apply(body) {
          const c = InputChange.parse(body);
          const u = unit(i.module);
          if (c.active !== undefined) sim.setInput(u, i.input, c.active !== i.activeLow);
          if (c.press) sim.press(u, i.input, c.ms, !i.activeLow);
          if (c.glitch) sim.glitch(u, i.input);
        },
      })),
      ...io.outputs.map((o): SimulatedDevice => ({
        id: o.id,
        family: 'io-module',
        state: () => ({ module: o.module, output: o.output, on: sim.output(unit(o.module), o.output) }),
        apply(body) {
          const c = OutputChange.parse(body);
          if (c.on !== undefined) sim.setOutput(unit(o.module), o.output, c.on);
          if (c.stuck !== undefined) sim.setStuck(unit(o.module), o.output, c.stuck);
        },
      })),
    ];
    log.info({ driver: io.id, port: running.port, modules: io.modules.length }, 'io-module simulator (Modbus TCP)');
    return { devices, close: () => running.close() };
  },
};

function moduleDevice(sim: IoModuleSimulator, id: string, unitId: number): SimulatedDevice {
  const bits = (b: boolean[]) => b.map((on) => (on ? 1 : 0)).join('');
  return {
    id,
    family: 'io-module',
    state: () => ({ unitId, inputs: bits(sim.inputs(unitId)), outputs: bits(sim.outputs(unitId)) }),
    apply(body) {
      const c = ModuleChange.parse(body);
      if (c.input !== undefined && c.value !== undefined) sim.setInput(unitId, c.input, c.value);
      if (c.output !== undefined && c.value !== undefined) sim.setOutput(unitId, c.output, c.value);
      if (c.press !== undefined) sim.press(unitId, c.press, c.ms);
      if (c.glitch !== undefined) sim.glitch(unitId, c.glitch);
      if (c.stuck !== undefined) sim.setStuck(unitId, c.stuck, true);
      if (c.unstuck !== undefined) sim.setStuck(unitId, c.unstuck, false);
      if (c.responding !== undefined) sim.setResponding(unitId, c.responding);
    },
  };
}
