import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../devices/testing/host-harness.js';
import { widgetConfig, widgetFamily } from '../devices/testing/test-family.js';
import { waitFor } from '../testing/wait-for.js';
import { handleCommandRequest } from './commands.js';

// The real command path: a driver host running a scripted family.
const { family, control } = widgetFamily({ poll: false });
const host = startHost({ families: [family], drivers: [widgetConfig([{ id: 'gas-1' }])] });
const execute = host.execute;
const ran = control.commands;
beforeAll(() => waitFor('driver running', () => host.host.status()[0]?.state === 'running'));
afterAll(() => host.close());
const now = () => new Date('2026-11-23T10:00:00Z');

describe('commands', () => {
  it('runs a valid command and answers ok with the request id', async () => {
    const res = await handleCommandRequest(execute, 'gas-1', 'valve.close', '{"id":"r1","args":{}}', { now });
    expect(res).toEqual({
      id: 'r1',
      deviceId: 'gas-1',
      command: 'valve.close',
      status: 'ok',
      data: { done: 'valve.close' },
      at: '2026-11-23T10:00:00.000Z',
    });
  });

  it('does not run an expired command', async () => {
    const before = ran.length;
    const res = await handleCommandRequest(
      execute,
      'gas-1',
      'valve.close',
      '{"id":"r2","expiresAt":"2026-11-23T09:59:59Z"}',
      { now },
    );
    expect(res).toMatchObject({ id: 'r2', status: 'expired' });
    expect(ran.length).toBe(before);
  });

  it('answers errors that say what is wrong: unknown device, command, bad args, bad payload', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['ghost', 'valve.close', '{"id":"a"}', /unknown device "ghost"/],
      ['gas-1', 'explode', '{"id":"b"}', /has no command "explode" \(commands: valve.close, dim.set, door.open\)/],
      ['gas-1', 'dim.set', '{"id":"c","args":{"percent":140}}', /bad arguments for dim.set: percent:/],
      ['gas-1', 'valve.close', 'not json', /payload is not JSON/],
      ['gas-1', 'valve.close', '{"args":{}}', /invalid command request: id:/],
    ];
    const before = ran.length;
    for (const [device, name, payload, why] of cases) {
      const res = await handleCommandRequest(execute, device, name, payload, { now });
      expect(res.status).toBe('error');
      expect(res.error).toMatch(why);
    }
    expect(ran.length).toBe(before);
  });

  it('a command that completes later is answered accepted at once, then with its final response', async () => {
    const accepted: unknown[] = [];
    const final = handleCommandRequest(execute, 'gas-1', 'door.open', '{"id":"d1"}', {
      now,
      onAccepted: (res) => accepted.push(res),
    });
    await waitFor('accepted response', () => accepted.length === 1);
    expect(accepted[0]).toEqual({
      id: 'd1',
      deviceId: 'gas-1',
      command: 'door.open',
      status: 'accepted',
      data: { eta: 5 },
      at: '2026-11-23T10:00:00.000Z',
    });
    control.finishDoor?.({ ok: true, data: { open: true } });
    expect(await final).toMatchObject({ id: 'd1', status: 'ok', data: { open: true } });
    expect(accepted).toHaveLength(1);
  });
});
