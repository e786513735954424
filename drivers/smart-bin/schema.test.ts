import { describe, expect, it } from 'vitest';
import { accountOf, SmartBinConfig } from './schema.js';

const parse = (devices: unknown[]) => SmartBinConfig.safeParse({ id: 'bins', family: 'smart-bin', devices });

describe('smart-bin site-file schema', () => {
  it('a station publishes with its own id as account unless it names one', () => {
    const r = parse([{ id: 'bin-1' }, { id: 'bin-2', account: 'room.3' }]);
    expect(r.success && r.data.devices.map(accountOf)).toEqual(['bin-1', 'room.3']);
    expect(r.success && r.data.keepDays).toBe(400);
  });

  it('refuses a station id the broker keeps for commands, and an account name it would not accept, with the path', () => {
    const r = parse([{ id: 'cmd' }, { id: 'bin-2', account: 'room/3' }]);
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['devices.0.id', '"cmd" is reserved for commands to devices (dev/<account>/cmd/…): choose another station id'],
      ['devices.1.account', 'letters, digits, ".", "-" and "_" only'],
    ]);
  });
});
