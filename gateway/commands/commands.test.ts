import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyDriverDefinition } from '../devices/driver-api.js';
import { commandExecutor, handleCommandRequest } from './commands.js';

const definition = {
  family: 'gas-detector',
  commands: {
    'valve.close': z.strictObject({}),
    'dim.set': z.strictObject({ percent: z.number().min(0).max(100) }),
  },
} as unknown as AnyDriverDefinition;

const ran: { deviceId: string; name: string; args: unknown }[] = [];
const execute = commandExecutor((deviceId) =>
  deviceId === 'gas-1'
    ? {
        definition,
        run: async (id, name, args) => {
          ran.push({ deviceId: id, name, args });
          return { ok: true, data: { done: name } };
        },
      }
    : undefined,
);
const now = () => new Date('2026-11-23T10:00:00Z');

describe('commands', () => {
  it('runs a valid command and answers ok with the request id', async () => {
    const res = await handleCommandRequest(execute, 'gas-1', 'valve.close', '{"id":"r1","args":{}}', now);
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
      now,
    );
    expect(res).toMatchObject({ id: 'r2', status: 'expired' });
    expect(ran.length).toBe(before);
  });

  it('answers errors that say what is wrong: unknown device, command, bad args, bad payload', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['ghost', 'valve.close', '{"id":"a"}', /unknown device "ghost"/],
      ['gas-1', 'explode', '{"id":"b"}', /has no command "explode" \(commands: valve.close, dim.set\)/],
      ['gas-1', 'dim.set', '{"id":"c","args":{"percent":140}}', /bad arguments for dim.set: percent:/],
      ['gas-1', 'valve.close', 'not json', /payload is not JSON/],
      ['gas-1', 'valve.close', '{"args":{}}', /invalid command request: id:/],
    ];
    const before = ran.length;
    for (const [device, name, payload, why] of cases) {
      const res = await handleCommandRequest(execute, device, name, payload, now);
      expect(res.status).toBe('error');
      expect(res.error).toMatch(why);
    }
    expect(ran.length).toBe(before);
  });
});
