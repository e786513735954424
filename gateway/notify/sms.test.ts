import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningGsmModem, startGsmModemSimulator } from '../../simulators/gsm-modem/index.js';
import { createLogger } from '../core/logger.js';
import { AtModem, ModemError, openSerialModem } from './at-modem.js';
import { type NotificationOutcome, Notifier } from './notifier.js';
import { NotifyConfig } from './notify-schema.js';
import { sampleAlarm as alarm } from '../testing/sample-alarm.js';

const log = createLogger('silent');

describe('SMS through the GSM modem simulator (socat pty)', () => {
  let modem: RunningGsmModem;
  beforeAll(async () => {
    modem = await startGsmModemSimulator();
  });
  afterAll(async () => {
    await modem?.close();
  });

  it('sends with the text-mode AT sequence: AT, ATE0, AT+CMGF=1, AT+CSCS, AT+CSMP, AT+CMGS, text + Ctrl-Z', async () => {
    const at = new AtModem(await openSerialModem(modem.path, 115200), 2000);
    try {
      const r = await at.sendSms('+8613800000001', 'Gas HIGH at B1');
      expect(r.messageRef).toBeGreaterThan(0);
      expect(modem.commands).toEqual([
        'AT',
        'ATE0',
        'AT+CMGF=1',
        'AT+CSCS="GSM"',
        'AT+CSMP=17,167,0,0',
        'AT+CMGS="+8613800000001"',
        '<text>Gas HIGH at B1',
      ]);
      expect(modem.sms.at(-1)).toMatchObject({ to: '+8613800000001', text: 'Gas HIGH at B1' });

      // Chinese text goes out as UCS2 (data coding scheme 8), number included.
      await at.sendSms('+8613800000001', '燃气报警 B1');
      expect(modem.commands).toContain('AT+CSCS="UCS2"');
      expect(modem.sms.at(-1)).toMatchObject({ to: '+8613800000001', text: '燃气报警 B1', charset: 'UCS2' });

      // A modem error is a ModemError carrying the +CMS ERROR number.
      modem.failNext(1, 500);
      const err = await at.sendSms('+8613800000001', 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModemError);
      expect((err as ModemError).modemCode).toBe(500);
      // ... and the modem is usable afterwards (re-initialised).
      await at.sendSms('+8613800000001', 'after error');
      expect(modem.sms.at(-1)?.text).toBe('after error');
    } finally {
      await at.close();
    }
  });

  it('retries a modem error and reports every outcome', async () => {
    const outcomes: NotificationOutcome[] = [];
    const config = NotifyConfig.parse({
      channels: [
        {
          type: 'sms',
          id: 'duty-sms',
          port: modem.path,
          to: ['+8613800000002'],
          attempts: 3,
          retryDelay: '20ms',
          timeout: '2s',
        },
      ],
      tiers: [{ name: 'duty', channels: ['duty-sms'] }],
    });
    const n = new Notifier({
      config,
      site: 'sunshine-garden',
      gateway: 'gw-01',
      log,
      record: (_id, o) => outcomes.push(o),
    });
    try {
      const before = modem.sms.length;
      modem.failNext(1, 500);
      n.notify(alarm(), 0);
      await n.idle();
      expect(outcomes[0]).toMatchObject({
        channel: 'duty-sms',
        ok: true,
        attempts: 2,
        to: ['+8613800000002'],
      });
      expect(modem.sms.length).toBe(before + 1);
      expect(modem.sms.at(-1)?.text).toMatch(/^【紧急】燃气浓度超高限：gas-b1-101/);

      // Failing every attempt: reported as failed with the modem's error, after `attempts` tries.
      modem.failNext(3, 500);
      n.notify(alarm(), 0);
      await n.idle();
      expect(outcomes[1]).toMatchObject({ channel: 'duty-sms', ok: false, attempts: 3 });
      expect(outcomes[1]?.error).toContain('+CMS ERROR: 500');
      expect(modem.sms.length).toBe(before + 1);
    } finally {
      await n.close();
    }
  });
});
