/**
 * What a simulated ISAPI access terminal does, apart from the network: enrolled people and
 * cards, verification attempts that pass or fail, and a door state machine per door, each
 * step written to the terminal's event history as an `AcsEvent` record with the terminal's
 * codes (major 0x5 events, 0x3 operations, 0x1 alarms).
 *
 * Doors: a pass or a remote open opens the door (0x19), which closes by itself after `openMs`
 * (0x1a); opened without a pass it is forced (0x1b); kept open past `heldOpenMs` it is held open
 * (0x1c). Always-open (0x13/0x14) and always-close (0x1f/0x20) until resumed.
 */

export interface Person {
  employeeNo: string;
  name: string;
  cardNo?: string;
}

export interface SimRecord {
  major: number;
  minor: number;
  serialNo: number;
  time: string;
  doorNo?: number;
  employeeNoString?: string;
  cardNo?: string;
  name?: string;
  currentVerifyMode?: string;
  currTemperature?: number;
  isAbnomalTemperature?: boolean;
  mask?: 'yes' | 'no' | 'unknown';
  /** The terminal took a picture (pushed as a JPEG part). */
  picture?: boolean;
}

type Mode = 'normal' | 'always-open' | 'always-close';
interface Door {
  mode: Mode;
  open: boolean;
  held: boolean;
  closeTimer?: NodeJS.Timeout;
  heldTimer?: NodeJS.Timeout;
}

export interface GateModelOptions {
  doors: number;
  people: readonly Person[];
  /** A door opened by a pass closes after this (default 5 s). */
  openMs?: number;
  /** A door open this long is reported held open (default 30 s). */
  heldOpenMs?: number;
  /** Temperatures from this up are abnormal (default 37.3 °C). */
  feverCelsius?: number;
  /** The terminal's UTC offset in minutes (default +08:00). */
  utcOffsetMin?: number;
  /** Each record as it is written. */
  onRecord?(r: SimRecord): void;
}

export const DOOR_CMDS = ['open', 'close', 'alwaysOpen', 'alwaysClose', 'resume'] as const;
export type DoorCmd = (typeof DOOR_CMDS)[number];

export class GateModel {
  readonly history: SimRecord[] = [];
  private readonly doors: Door[];
  private serial = 0;

  constructor(private readonly o: GateModelOptions) {
    this.doors = Array.from({ length: o.doors }, () => ({ mode: 'normal' as Mode, open: false, held: false }));
  }

  state() {
    return {
      doors: this.doors.map((d, i) => ({ door: i + 1, mode: d.mode, open: d.open, held: d.held })),
      records: this.history.length,
      lastSerial: this.serial,
    };
  }

  /** A face at the reader: enrolled (pass) or not (face verify fail). */
  face(employeeNo: string, door = 1, reading?: { celsius: number; mask?: boolean }): void {
    const p = this.o.people.find((x) => x.employeeNo === employeeNo);
    const temperature = reading
      ? {
          currTemperature: reading.celsius,
          isAbnomalTemperature: reading.celsius >= (this.o.feverCelsius ?? 37.3),
          mask: reading.mask === undefined ? ('unknown' as const) : reading.mask ? ('yes' as const) : ('no' as const),
        }
      : {};
    if (!p) return void this.record({ major: 0x5, minor: 0x4c, doorNo: door, currentVerifyMode: 'face', picture: true, ...temperature });
    this.record({ major: 0x5, minor: 0x4b, doorNo: door, employeeNoString: p.employeeNo, name: p.name, currentVerifyMode: 'face', picture: true, ...temperature });
    this.openDoor(door);
  }

  /** A card at the reader: enrolled (pass) or not (invalid card). */
  card(cardNo: string, door = 1): void {
    const p = this.o.people.find((x) => x.cardNo === cardNo);
    if (!p) return void this.record({ major: 0x5, minor: 0x09, doorNo: door, cardNo, currentVerifyMode: 'card' });
    this.record({ major: 0x5, minor: 0x01, doorNo: door, employeeNoString: p.employeeNo, name: p.name, cardNo, currentVerifyMode: 'card' });
    this.openDoor(door);
  }

  /** A face that is not enrolled at all. */
  stranger(door = 1): void {
    this.record({ major: 0x5, minor: 0x50, doorNo: door, picture: true });
  }

  /** The door is pushed open without a pass. */
  force(door = 1): void {
    const d = this.door(door);
    if (d.open) return;
    this.record({ major: 0x5, minor: 0x1b, doorNo: door });
    d.open = true;
    this.armTimers(door);
  }

  /** Someone keeps the door open (it opens by the exit button if closed), or lets it close. */
  holdOpen(door: number, on: boolean): void {
    const d = this.door(door);
    d.held = on;
    if (on) {
      if (!d.open) this.openDoor(door);
      clearTimeout(d.closeTimer);
    } else this.closeDoor(door);
  }

  tamper(): void {
    this.record({ major: 0x1, minor: 0x404 });
  }

  /** A remote command (ISAPI RemoteControlDoor). */
  remote(door: number, cmd: DoorCmd): void {
    const d = this.door(door);
    switch (cmd) {
      case 'open':
        this.record({ major: 0x3, minor: 0x400, doorNo: door });
        this.openDoor(door);
        break;
      case 'close':
        this.record({ major: 0x3, minor: 0x401, doorNo: door });
        this.closeDoor(door);
        break;
      case 'alwaysOpen':
        this.clearTimers(d);
        d.mode = 'always-open';
        this.record({ major: 0x5, minor: 0x13, doorNo: door });
        break;
      case 'alwaysClose':
        this.closeDoor(door);
        d.mode = 'always-close';
        this.record({ major: 0x5, minor: 0x1f, doorNo: door });
        break;
      case 'resume':
        if (d.mode !== 'normal') this.record({ major: 0x5, minor: d.mode === 'always-open' ? 0x14 : 0x20, doorNo: door });
        d.mode = 'normal';
        if (d.open && !d.held) this.armTimers(door);
        break;
    }
  }

  close(): void {
    for (const d of this.doors) this.clearTimers(d);
  }

  private openDoor(door: number): void {
    const d = this.door(door);
    if (d.mode === 'always-close') return;
    if (!d.open) {
      d.open = true;
      this.record({ major: 0x5, minor: 0x19, doorNo: door });
    }
    if (d.mode === 'normal') this.armTimers(door);
  }

  private closeDoor(door: number): void {
    const d = this.door(door);
    this.clearTimers(d);
    if (!d.open) return;
    d.open = false;
    d.held = false;
    this.record({ major: 0x5, minor: 0x1a, doorNo: door });
  }

  private armTimers(door: number): void {
    const d = this.door(door);
    this.clearTimers(d);
    if (!d.held) d.closeTimer = setTimeout(() => this.closeDoor(door), this.o.openMs ?? 5000);
    d.heldTimer = setTimeout(() => {
      if (d.open && d.mode === 'normal') this.record({ major: 0x5, minor: 0x1c, doorNo: door });
    }, this.o.heldOpenMs ?? 30_000);
  }

  private clearTimers(d: Door): void {
    clearTimeout(d.closeTimer);
    clearTimeout(d.heldTimer);
  }

  private door(n: number): Door {
    const d = this.doors[n - 1];
    if (!d) throw new RangeError(`door ${n}: this terminal has doors 1 to ${this.doors.length}`);
    return d;
  }

  private record(r: Omit<SimRecord, 'serialNo' | 'time'>): void {
    const rec: SimRecord = { ...r, serialNo: ++this.serial, time: isapiNow(this.o.utcOffsetMin ?? 480) };
    this.history.push(rec);
    this.o.onRecord?.(rec);
  }
}

/** The terminal's clock as ISAPI writes it: local time with its offset, e.g. 2026-05-01T08:00:00+08:00. */
function isapiNow(offsetMin: number): string {
  const local = new Date(Date.now() + offsetMin * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(offsetMin);
  return `${local}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
