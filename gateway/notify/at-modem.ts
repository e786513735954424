/**
 * SMS through a serial GSM/4G modem in text mode (3GPP TS 27.005 §3.5: AT+CMGF=1 selects
 * text mode, AT+CMGS sends; §3.2.5: `+CMS ERROR: <err>`; TS 27.007 §5.5 AT+CSCS charset).
 * Plain ASCII goes out in the GSM alphabet; any other text (e.g. Chinese) as UCS2 hex with
 * AT+CSMP data coding scheme 8 (TS 23.038 §4). One command at a time; `sendSms` is queued.
 */
import { SerialPort } from 'serialport';
import type { ErrorCode } from '../core/error-codes.js';
import { GatewayError } from '../core/errors.js';

export interface ModemPort {
  write(data: string | Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  close(): Promise<void>;
}

export class ModemError extends GatewayError {
  constructor(
    code: Extract<ErrorCode, `MODEM_${string}`>,
    message: string,
    /** The modem's `+CMS ERROR` / `+CME ERROR` number, when it gave one. */
    readonly modemCode?: number,
  ) {
    super(code, message);
    this.name = 'ModemError';
  }
}

export interface SendResult {
  /** Message reference from `+CMGS: <mr>`. */
  messageRef: number;
}

const CTRL_Z = '\x1a';
const ESC = '\x1b';
/** 3GPP TS 23.038 §6.2.1 basic character set, the printable ASCII part modems accept in text mode. */
const GSM_SAFE = /^[A-Za-z0-9 \r\n@$_!"#%&'()*+,\-./:;<=>?]*$/;

export const isGsmText = (text: string) => GSM_SAFE.test(text);

/** UCS2 as modems expect it with AT+CSCS="UCS2": 4 hex digits per UTF-16 code unit. */
export function ucs2Hex(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
  return out;
}

/** One SMS holds 160 GSM characters or 70 UCS2 code units; longer text is cut (multi-part SMS is not used). */
export function fitOneSms(text: string): { text: string; ucs2: boolean } {
  const ucs2 = !isGsmText(text);
  const max = ucs2 ? 70 : 160;
  if (text.length <= max) return { ucs2, text };
  return { ucs2, text: ucs2 ? `${text.slice(0, max - 1)}…` : `${text.slice(0, max - 3)}...` };
}

export async function openSerialModem(path: string, baudRate: number): Promise<ModemPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('error', () => {}); // reported through command timeouts; never crash the gateway
  return {
    write: (d) => void port.write(d),
    onData: (l) => void port.on('data', l),
    close: () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

export class AtModem {
  private buf = '';
  private waiter?: {
    prompt: boolean;
    lines: string[];
    resolve: (lines: string[]) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  };
  private queue: Promise<unknown> = Promise.resolve();
  private initialised = false;
  /** Every command line written, in order (diagnostics and tests). */
  readonly sent: string[] = [];

  constructor(
    private readonly port: ModemPort,
    private readonly timeoutMs = 10_000,
  ) {
    port.onData((chunk) => this.onData(chunk.toString('latin1')));
  }

  /** Sends one SMS; rejects with a ModemError (`+CMS ERROR: 500` -> modemCode 500) or on timeout. */
  sendSms(to: string, text: string): Promise<SendResult> {
    const run = this.queue.then(() => this.doSend(to, text));
    this.queue = run.catch(() => {});
    return run;
  }

  close(): Promise<void> {
    this.fail(new ModemError('MODEM_CLOSED', 'modem port closed'));
    return this.port.close();
  }

  private async doSend(to: string, text: string): Promise<SendResult> {
    try {
      if (!this.initialised) {
        await this.command('AT');
        await this.command('ATE0');
        await this.command('AT+CMGF=1');
        this.initialised = true;
      }
      const sms = fitOneSms(text);
      if (sms.ucs2) {
        await this.command('AT+CSCS="UCS2"');
        await this.command('AT+CSMP=17,167,0,8');
        await this.command(`AT+CMGS="${ucs2Hex(to)}"`, true);
        const lines = await this.command(`${ucs2Hex(sms.text)}${CTRL_Z}`, false, false, this.timeoutMs * 6);
        return parseCmgs(lines);
      }
      await this.command('AT+CSCS="GSM"');
      await this.command('AT+CSMP=17,167,0,0');
      await this.command(`AT+CMGS="${to}"`, true);
      // The network answer can take tens of seconds (TS 27.005 allows up to the network's timeout).
      const lines = await this.command(`${sms.text}${CTRL_Z}`, false, false, this.timeoutMs * 6);
      return parseCmgs(lines);
    } catch (err) {
      // Leave text-entry mode if we are stuck in it, and re-initialise next time.
      this.port.write(ESC);
      this.initialised = false;
      throw err;
    }
  }

  /** Writes one command and waits for OK (or the `> ` prompt); ERROR / +CMS ERROR reject. */
  private command(cmd: string, prompt = false, cr = true, timeoutMs = this.timeoutMs): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(
          new ModemError('MODEM_TIMEOUT', `modem did not answer "${printable(cmd)}" within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiter = { prompt, lines: [], resolve, reject, timer };
      this.sent.push(cmd);
      this.port.write(cr ? `${cmd}\r` : cmd);
    });
  }

  private onData(text: string): void {
    this.buf += text;
    for (;;) {
      const w = this.waiter;
      if (w?.prompt && /(^|\r\n|\n)> ?$/.test(this.buf)) {
        this.buf = '';
        this.settle(w, () => w.resolve(w.lines));
        continue;
      }
      const m = /\r?\n|\r/.exec(this.buf);
      if (!m) return;
      const line = this.buf.slice(0, m.index).trim();
      this.buf = this.buf.slice(m.index + m[0].length);
      if (!line || !w) continue;
      if (line === 'OK') this.settle(w, () => w.resolve(w.lines));
      else if (line === 'ERROR')
        this.settle(w, () => w.reject(new ModemError('MODEM_ERROR', 'modem answered ERROR')));
      else {
        const e = /^\+(CMS|CME) ERROR: ?(\d+)/.exec(line);
        if (e) {
          const n = Number(e[2]);
          this.settle(w, () =>
            w.reject(new ModemError('MODEM_ERROR', `modem answered +${e[1]} ERROR: ${n}`, n)),
          );
        } else w.lines.push(line);
      }
    }
  }

  private settle(w: NonNullable<AtModem['waiter']>, fn: () => void): void {
    clearTimeout(w.timer);
    if (this.waiter === w) this.waiter = undefined;
    fn();
  }

  private fail(err: Error): void {
    const w = this.waiter;
    if (w) this.settle(w, () => w.reject(err));
  }
}

function parseCmgs(lines: string[]): SendResult {
  const l = lines.find((x) => x.startsWith('+CMGS:'));
  return { messageRef: l ? Number(l.slice(6).trim()) : -1 };
}

function printable(s: string): string {
  return s.replace(CTRL_Z, '<ctrl-z>').slice(0, 60);
}
