/**
 * The io-module driver under the real driver host against its simulator over Modbus TCP on
 * loopback: each role's events, debounce, output commands read back, a stuck output, and a
 * module that stops answering taking its devices offline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostHarness } from '../../gateway/devices/testing/host-harness.js';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { type RunningIoSimulatorTcp, startIoSimulatorTcp } from '../../simulators/io-module/index.js';
import { MODELS } from './index.js';
import { ioConfig, startIo } from './testing/harness.js';

let s: RunningIoSimulatorTcp;
let host: HostHarness;
const types = (id: string) => host.eventsOf(id).map((e) => e.type);

beforeAll(async () => {
  s = await startIoSimulatorTcp({
    modules: [
      // DI2: a normally-closed door contact (door shut = energised); DI4: a normally-closed button at rest
      { unitId: 1, inputs: [false, true, false, true] },
      { unitId: 2, model: MODELS['generic-8di8do-register'] },
    ],
  });
  host = startIo(
    ioConfig(s.port, {
      modules: [
        { id: 'io-1', unitId: 1 },
        { id: 'io-2', unitId: 2, model: 'generic-8di8do-register' },
      ],
      inputs: [
        { id: 'sos-1', module: 'io-1', input: 1, role: 'button', building: 'B1', zone: 'lobby' },
        { id: 'door-1', module: 'io-1', input: 2, role: 'contact', activeLow: true },
        { id: 'aux-1', module: 'io-1', input: 3, role: 'input' },
        { id: 'sos-nc', module: 'io-1', input: 4, role: 'button', activeLow: true },
        { id: 'sos-2', module: 'io-2', input: 5, role: 'button' },
      ],
      outputs: [
        { id: 'siren-1', module: 'io-1', output: 1, role: 'siren', tags: ['siren'] },
        { id: 'relay-1', module: 'io-1', output: 2, role: 'relay' },
        { id: 'relay-2', module: 'io-2', output: 8, role: 'relay' },
      ],
    }),
  );
  await waitFor('first reads', () => host.eventsOf('relay-2', 'output.state')[0]);
});

afterAll(async () => {
  await host?.close();
  await s?.close();
});

describe('io-module driver over Modbus TCP (simulator)', () => {
  it('reports the state read first: contacts, inputs and outputs; a button at rest says nothing', async () => {
    await waitFor('door-1 state', () => host.eventsOf('door-1', 'contact.closed')[0]);
    expect(host.eventsOf('aux-1')).toMatchObject([
      { type: 'input.changed', kind: 'event', severity: 'info', data: { module: 'io-1', input: 3, value: false } },
    ]);
    expect(host.eventsOf('siren-1')).toMatchObject([{ type: 'output.state', data: { module: 'io-1', output: 1, on: false } }]);
    expect(host.eventsOf('sos-1')).toEqual([]);
    expect(host.eventsOf('sos-nc')).toEqual([]);
    for (const id of ['sos-1', 'door-1', 'aux-1', 'sos-nc', 'sos-2', 'siren-1', 'relay-1', 'relay-2']) {
      expect(host.online(id), id).toBe(true);
    }
    expect(host.invalids).toEqual([]);
  });

  it('a button press is a critical button.pressed alarm, its release button.released', async () => {
    s.sim.press(1, 1, 500);
    const pressed = await waitFor('button.pressed', () => host.eventsOf('sos-1', 'button.pressed')[0]);
    expect(pressed).toMatchObject({ kind: 'alarm', severity: 'critical', data: { module: 'io-1', input: 1 } });
    await waitFor('button.released', () => host.eventsOf('sos-1', 'button.released')[0]);
    expect(types('sos-1')).toEqual(['button.pressed', 'button.released']);
  });

  it('a normally-closed (activeLow) button is pressed when its circuit opens', async () => {
    s.sim.setInput(1, 4, false);
    await waitFor('button.pressed', () => host.eventsOf('sos-nc', 'button.pressed')[0]);
    s.sim.setInput(1, 4, true);
    await waitFor('button.released', () => host.eventsOf('sos-nc', 'button.released')[0]);
  });

  it('a door contact reports contact.open and contact.closed', async () => {
    s.sim.setInput(1, 2, false); // NC contact: the circuit opens with the door
    const open = await waitFor('contact.open', () => host.eventsOf('door-1', 'contact.open')[0]);
    expect(open).toMatchObject({ kind: 'event', severity: 'info', data: { module: 'io-1', input: 2 } });
    s.sim.setInput(1, 2, true);
    await waitFor('contact.closed again', () => host.eventsOf('door-1', 'contact.closed')[1]);
    expect(types('door-1')).toEqual(['contact.closed', 'contact.open', 'contact.closed']);
  });

  it('reads inputs bit-packed in an input register (FC4)', async () => {
    s.sim.setInput(2, 5, true);
    await waitFor('sos-2 pressed', () => host.eventsOf('sos-2', 'button.pressed')[0]);
    s.sim.setInput(2, 5, false);
    await waitFor('sos-2 released', () => host.eventsOf('sos-2', 'button.released')[0]);
  });

  it('does not report a change seen in one poll only; reports one that holds', async () => {
    s.sim.glitch(1, 3);
    // A real change on the same module after the glitch was read: once it is reported, at least two reads followed the glitch.
    await waitFor('glitch read', () => !s.sim.pendingGlitches(1));
    s.sim.setInput(1, 2, false);
    await waitFor('contact.open after the glitch', () => host.eventsOf('door-1', 'contact.open')[1]);
    expect(host.eventsOf('aux-1').map((e) => e.data)).toEqual([{ module: 'io-1', input: 3, value: false }]);
    s.sim.setInput(1, 2, true);
    s.sim.setInput(1, 3, true);
    const changed = await waitFor('held change', () => host.eventsOf('aux-1', 'input.changed')[1]);
    expect(changed.data).toEqual({ module: 'io-1', input: 3, value: true });
  });

  it('siren.on / siren.off switch the coil and read it back', async () => {
    expect(await host.execute('siren-1', 'siren.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(s.sim.output(1, 1)).toBe(true);
    expect(s.sim.output(1, 2)).toBe(false);
    expect(host.eventsOf('siren-1', 'output.state').at(-1)?.data).toEqual({ module: 'io-1', output: 1, on: true });
    expect(await host.execute('siren-1', 'output.off', {})).toEqual({ ok: true, data: { on: false } });
    expect(s.sim.output(1, 1)).toBe(false);
    expect(host.eventsOf('siren-1', 'output.state').map((e) => e.data.on)).toEqual([false, true, false]);
  });

  it('output.pulse is accepted once on, and final once off again', async () => {
    let accepted: unknown;
    const result = host.execute('relay-2', 'output.pulse', { ms: 300 }, { onAccepted: (d) => (accepted = d) });
    await waitFor('accepted', () => accepted);
    expect(accepted).toEqual({ on: true });
    expect(s.sim.output(2, 8)).toBe(true);
    expect(await result).toEqual({ ok: true, data: { on: false } });
    expect(s.sim.output(2, 8)).toBe(false);
  });

  it('a later command cuts a pulse short, and the pulse does not switch the output off behind it', async () => {
    const pulse = host.execute('relay-1', 'output.pulse', { ms: 60_000 });
    await waitFor('relay-1 on', () => s.sim.output(1, 2));
    expect(await host.execute('relay-1', 'output.on', {})).toEqual({ ok: true, data: { on: true } });
    expect(await pulse).toEqual({ ok: true, data: { cutShortBy: 'output.on' } });
    expect(await host.execute('relay-1', 'output.off', {})).toEqual({ ok: true, data: { on: false } });
  });

  it('reports a stuck output as an error: the readback is what counts', async () => {
    s.sim.setStuck(1, 2, true);
    const res = await host.execute('relay-1', 'output.on', {});
    expect(res).toEqual({
      ok: false,
      error:
        'relay-1: output 2 of module io-1 (unit 1) reads OFF after writing ON: it did not switch (stuck relay, or the module is in manual mode); check the module',
    });
    expect(s.sim.output(1, 2)).toBe(false);
    s.sim.setStuck(1, 2, false);
  });

  it('reports an output switched by hand at the module', async () => {
    s.sim.setOutput(1, 1, true);
    await waitFor('output.state on', () => host.eventsOf('siren-1', 'output.state')[3]);
    expect(host.eventsOf('siren-1', 'output.state')[3]?.data).toMatchObject({ on: true });
    s.sim.setOutput(1, 1, false);
  });

  it('refuses siren commands to a relay and output commands to an input, before the bus', async () => {
    expect(await host.execute('relay-1', 'siren.on', {})).toMatchObject({
      ok: false,
      error: /relay-1 \(this device\) does not accept "siren.on"; it accepts: output.on, output.off, output.pulse/,
    });
    expect(await host.execute('sos-1', 'output.on', {})).toMatchObject({ ok: false, error: /it accepts: no commands/ });
    expect(await host.execute('relay-1', 'output.pulse', { ms: 10 })).toMatchObject({ ok: false, error: /bad arguments/ });
    expect(s.sim.output(1, 2)).toBe(false);
  });

  it('a module that stops answering takes all its devices offline, and back', async () => {
    s.sim.setResponding(1, false);
    const io1 = ['sos-1', 'door-1', 'aux-1', 'sos-nc', 'siren-1', 'relay-1'];
    await waitFor('io-1 devices offline', () => io1.every((id) => host.online(id) === false));
    const reasons = host.availabilityLog.filter((a) => io1.includes(a.deviceId) && !a.online).map((a) => a.reason);
    expect(reasons.length).toBeGreaterThanOrEqual(io1.length);
    for (const r of reasons) expect(r).toMatch(/^module io-1 \(unit 1\): .*read discrete inputs 0\+8: no answer \(timed out\)$/);
    expect(host.online('sos-2')).toBe(true);
    expect(host.online('relay-2')).toBe(true);
    s.sim.setResponding(1, true);
    await waitFor('io-1 devices online', () => io1.every((id) => host.online(id) === true), { timeoutMs: 5000 });
  });
});

describe('io-module driver stopping', () => {
  it('switches off an output whose pulse is under way, and answers the pulse', async () => {
    const other = startIo(
      ioConfig(s.port, {
        modules: [{ id: 'io-2', unitId: 2, model: 'generic-8di8do-register' }],
        outputs: [{ id: 'strike-2', module: 'io-2', output: 4, role: 'relay' }],
      }),
    );
    await waitFor('strike-2 online', () => other.online('strike-2'));
    const pulse = other.execute('strike-2', 'output.pulse', { ms: 60_000 });
    await waitFor('strike-2 on', () => s.sim.output(2, 4));
    await other.close();
    expect(s.sim.output(2, 4)).toBe(false);
    expect(await pulse).toEqual({ ok: true, data: { on: false } });
  });
});
