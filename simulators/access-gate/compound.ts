/**
 * The access-gate part of the compound simulator: one simulated terminal per gate whose ISAPI
 * address is on loopback, pushing to the driver's listener with the gate's push account, with a
 * few enrolled residents. A gate on another address is a real terminal: not simulated.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PUSH_PATH } from '../../drivers/access-gate/driver.js';
import type { AccessGateConfig, Account } from '../../drivers/access-gate/schema.js';
import type { Logger } from '../../gateway/core/logger.js';
import type { DriverConfig, FamilySimulator, SimulatedDevice } from '../../gateway/devices/driver-api.js';
import type { Person } from './gate-model.js';
import { GateSimulator } from './simulator.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Residents enrolled on every simulated terminal. */
export const DEMO_PEOPLE: readonly Person[] = [
  { employeeNo: '1001', name: '张伟', cardNo: '3005001001' },
  { employeeNo: '1002', name: '李娜', cardNo: '3005001002' },
  { employeeNo: '1003', name: '王芳' },
];

export const GateChange = z
  .strictObject({
    face: z.string().min(1).optional(),
    card: z.string().min(1).optional(),
    stranger: z.literal(true).optional(),
    force: z.literal(true).optional(),
    holdOpen: z.boolean().optional(),
    tamper: z.literal(true).optional(),
    temperature: z.number().min(30).max(45).optional(),
    mask: z.boolean().optional(),
    offline: z.boolean().optional(),
    /** Which door (default 1). */
    door: z.number().int().min(1).optional(),
  })
  .refine((c) => Object.keys(c).some((k) => k !== 'door' && k !== 'mask'), { message: 'say what happens, e.g. {"face": "1001"}' });
export type GateChange = z.infer<typeof GateChange>;

/** Applies one change of the control API to a simulated terminal. */
export function applyChange(sim: GateSimulator, change: unknown): void {
  const c = GateChange.parse(change);
  const door = c.door ?? 1;
  if (c.offline !== undefined) sim.setOffline(c.offline);
  if (c.temperature !== undefined) {
    sim.model.face(c.face ?? DEMO_PEOPLE[0]!.employeeNo, door, { celsius: c.temperature, ...(c.mask !== undefined ? { mask: c.mask } : {}) });
  } else if (c.face !== undefined) sim.model.face(c.face, door);
  if (c.card !== undefined) sim.model.card(c.card, door);
  if (c.stranger) sim.model.stranger(door);
  if (c.force) sim.model.force(door);
  if (c.holdOpen !== undefined) sim.model.holdOpen(door, c.holdOpen);
  if (c.tamper) sim.model.tamper();
}

const password = (a: Account) => a.password ?? readFileSync(a.passwordFile!, 'utf8').split(/\r?\n/, 1)[0]!;

export const simulator: FamilySimulator = {
  changeHint:
    'e.g. {"face": "1001"}, {"card": "3005001001"}, {"stranger": true}, {"force": true}, {"holdOpen": true}, {"tamper": true}, {"temperature": 37.9}, {"offline": true}',
  async start(config: DriverConfig, log: Logger) {
    const gate = config as unknown as AccessGateConfig;
    const pushHost = gate.listen.host === '0.0.0.0' ? '127.0.0.1' : gate.listen.host;
    const sims: { id: string; sim: GateSimulator }[] = [];
    try {
      for (const dev of gate.devices) {
        const url = new URL(dev.url);
        if (!LOOPBACK.has(url.hostname)) {
          log.info({ driver: gate.id, device: dev.id }, 'not simulated: a real terminal (not on loopback)');
          continue;
        }
        const sim = new GateSimulator({
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: Number(url.port || 80),
          username: dev.api.username,
          password: password(dev.api),
          doors: dev.doors,
          people: DEMO_PEOPLE,
          push: { url: `http://${pushHost}:${gate.listen.port}${PUSH_PATH}`, username: dev.push.username, password: password(dev.push) },
        });
        await sim.start();
        sims.push({ id: dev.id, sim });
      }
    } catch (err) {
      await Promise.all(sims.map((s) => s.sim.close()));
      throw err;
    }
    if (sims.length === 0) return undefined;
    log.info({ driver: gate.id, gates: sims.length }, 'access gate simulator (ISAPI)');
    const devices = sims.map(
      ({ id, sim }): SimulatedDevice => ({
        id,
        family: 'access-gate',
        state: () => ({ url: sim.url, offline: sim.isOffline(), ...sim.model.state(), pushes: { ...sim.pushes } }),
        apply: (change) => applyChange(sim, change),
      }),
    );
    return { devices, close: async () => void (await Promise.all(sims.map((s) => s.sim.close()))) };
  },
};
