/**
 * GSM modem simulator: answers AT commands in SMS text mode (3GPP TS 27.005 §3.5.1 AT+CMGS,
 * §3.2.3 AT+CMGF, §3.2.5 `+CMS ERROR`; TS 27.007 AT+CSCS) on one end of a serial pty pair
 * from `socat -d -d pty,raw,echo=0 pty,raw,echo=0`; the gateway opens the other end (`path`).
 * Failure injection: `failNext(n, 500)` answers the next n sends with `+CMS ERROR: 500`,
 * `setSilent(true)` stops answering (the gateway sees timeouts).
 */
import { SerialPort } from 'serialport';
import { openPtyPair } from '../common/pty-pair.js';

export interface SimulatedSms {
  to: string;
  text: string;
  charset: string;
  ref: number;
}

export interface RunningGsmModem {
  /** The serial device the gateway opens (e.g. /dev/pts/7). */
  path: string;
  /** Messages accepted, in order. */
  readonly sms: SimulatedSms[];
  /** Every command line received (AT commands, then `<text>` for a message body), in order. */
  readonly commands: string[];
  /** The next `n` sends fail with `+CMS ERROR: <code>` (500: unknown error, TS 27.005 §3.2.5). */
  failNext(n: number, code?: number): void;
  setSilent(silent: boolean): void;
  close(): Promise<void>;
}

const CTRL_Z = 0x1a;
const ESC = 0x1b;

export class GsmModemSimulator {
  readonly sms: SimulatedSms[] = [];
  readonly commands: string[] = [];
  private echo = true;
  private textMode = false;
  private charset = 'GSM';
  private line = '';
  private body: number[] | undefined;
  private to = '';
  private ref = 0;
  private failures: number[] = [];
  silent = false;

  constructor(private readonly write: (s: string) => void) {}

  failNext(n: number, code = 500): void {
    for (let i = 0; i < n; i++) this.failures.push(code);
  }

  receive(chunk: Buffer): void {
    for (const b of chunk) {
      if (this.body) {
        if (b === CTRL_Z) this.finishSms();
        else if (b === ESC) {
          this.body = undefined; // send cancelled (TS 27.005 §3.5.1)
          this.commands.push('<esc>');
        } else this.body.push(b);
        continue;
      }
      if (b === ESC) continue;
      if (b === 0x0d) {
        const cmd = this.line.trim();
        this.line = '';
        if (cmd) this.command(cmd);
      } else if (b !== 0x0a) this.line += String.fromCharCode(b);
    }
  }

  private answer(s: string): void {
    if (!this.silent) this.write(s);
  }

  private command(cmd: string): void {
    this.commands.push(cmd);
    if (this.echo) this.answer(`${cmd}\r`);
    this.answer(this.reply(cmd));
  }

  private reply(cmd: string): string {
    const OK = '\r\nOK\r\n';
    const u = cmd.toUpperCase();
    if (u === 'AT') return OK;
    if (u === 'ATE0' || u === 'ATE1') {
      this.echo = u === 'ATE1';
      return OK;
    }
    const cmgf = /^AT\+CMGF=([01])$/.exec(u);
    if (cmgf) {
      this.textMode = cmgf[1] === '1';
      return OK;
    }
    if (u === 'AT+CMGF?') return `\r\n+CMGF: ${this.textMode ? 1 : 0}\r\n${OK}`;
    const cscs = /^AT\+CSCS="([A-Z0-9]+)"$/.exec(u);
    if (cscs) {
      this.charset = cscs[1]!;
      return OK;
    }
    if (/^AT\+CSMP=/.test(u)) return OK;
    const cmgs = /^AT\+CMGS="([^"]+)"/.exec(cmd);
    if (cmgs) {
      if (!this.textMode) return '\r\n+CMS ERROR: 302\r\n'; // operation not allowed (PDU mode)
      this.to = this.charset === 'UCS2' ? fromUcs2(cmgs[1]!) : cmgs[1]!;
      this.body = [];
      return '\r\n> ';
    }
    return '\r\nERROR\r\n';
  }

  private finishSms(): void {
    const raw = Buffer.from(this.body ?? []).toString('latin1');
    this.body = undefined;
    this.commands.push(`<text>${raw}`);
    const code = this.failures.shift();
    if (code !== undefined) {
      this.answer(`\r\n+CMS ERROR: ${code}\r\n`);
      return;
    }
    const text = this.charset === 'UCS2' ? fromUcs2(raw) : raw;
    this.ref = (this.ref + 1) % 256;
    this.sms.push({ to: this.to, text, charset: this.charset, ref: this.ref });
    this.answer(`\r\n+CMGS: ${this.ref}\r\n\r\nOK\r\n`);
  }
}

function fromUcs2(hex: string): string {
  let out = '';
  for (let i = 0; i + 4 <= hex.length; i += 4)
    out += String.fromCharCode(Number.parseInt(hex.slice(i, i + 4), 16));
  return out;
}

/** Starts socat and the simulator on one end of the pair; the gateway opens `path`. */
export async function startGsmModemSimulator(timeoutMs = 5000): Promise<RunningGsmModem> {
  const pair = await openPtyPair(timeoutMs);
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await pair.close();
    throw err;
  }
  port.on('error', () => {});
  const sim = new GsmModemSimulator((s) => void port.write(Buffer.from(s, 'latin1')));
  port.on('data', (chunk: Buffer) => sim.receive(chunk));
  return {
    path: pair.b,
    sms: sim.sms,
    commands: sim.commands,
    failNext: (n, code) => sim.failNext(n, code),
    setSilent: (s) => {
      sim.silent = s;
    },
    async close() {
      await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
      await pair.close();
    },
  };
}
