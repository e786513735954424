import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtModem, ModemError, openSerialModem } from '../../gateway/notify/at-modem.js';
import { GsmModemSimulator, type RunningGsmModem, startGsmModemSimulator } from './modem-simulator.js';

describe('GSM modem simulator', () => {
  it('speaks text-mode AT: echo, CMGF, CMGS prompt, Ctrl-Z, Esc, errors', () => {
    let out = '';
    const sim = new GsmModemSimulator((s) => {
      out += s;
    });
    const send = (s: string) => sim.receive(Buffer.from(s, 'latin1'));
    send('AT\r');
    expect(out).toBe('AT\r\r\nOK\r\n'); // echo on by default (V.250 §6.2.4)
    out = '';
    send('ATE0\r');
    out = '';
    send('AT+CMGS="+861"\r');
    expect(out).toBe('\r\n+CMS ERROR: 302\r\n'); // PDU mode: not allowed in text form
    out = '';
    send('AT+CMGF=1\r');
    send('AT+CMGF?\r');
    expect(out).toBe('\r\nOK\r\n\r\n+CMGF: 1\r\n\r\nOK\r\n');
    out = '';
    send('AT+CMGS="+8613800000001"\r');
    expect(out).toBe('\r\n> ');
    send('cancel me\x1b');
    expect(sim.sms).toHaveLength(0);
    out = '';
    send('AT+CMGS="+8613800000001"\r');
    send('hello\x1a');
    expect(out).toBe('\r\n> \r\n+CMGS: 1\r\n\r\nOK\r\n');
    expect(sim.sms).toEqual([{ to: '+8613800000001', text: 'hello', charset: 'GSM', ref: 1 }]);
    out = '';
    send('AT+FOO\r');
    expect(out).toBe('\r\nERROR\r\n');
  });

  describe('on a socat pty', () => {
    let modem: RunningGsmModem;
    beforeAll(async () => {
      modem = await startGsmModemSimulator();
    });
    afterAll(async () => {
      await modem?.close();
    });

    it('a silent modem makes the client time out with a coded error', async () => {
      const at = new AtModem(await openSerialModem(modem.path, 115200), 200);
      try {
        modem.setSilent(true);
        const err = await at.sendSms('+8613800000001', 'x').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ModemError);
        expect((err as ModemError).code).toBe('MODEM_TIMEOUT');
        modem.setSilent(false);
        await at.sendSms('+8613800000001', 'back');
        expect(modem.sms.at(-1)?.text).toBe('back');
      } finally {
        await at.close();
      }
    });
  });
});
