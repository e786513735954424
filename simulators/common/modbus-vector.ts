/**
 * What every simulated Modbus bus answers, for modbus-serial's ServerTCP / ServerSerial (its
 * service vector, callback style: a handler's arity decides, see modbus-serial's
 * servertcp_handler.js). Every read (FC1 coils, FC2 discrete inputs, FC3 holding and FC4 input
 * registers; Modbus Application Protocol V1.1b3 §6.1-6.4) goes to the family's `read`, the single
 * writes (FC5 §6.5, FC6 §6.6; FC15 and FC16 reach them too) to its `setCoil` / `setRegister`.
 * The family's `answer` decides when a unit answers: now, after a delay, or never (an unknown or
 * dead unit is silent, as on a real bus). An error thrown with a `modbusErrorCode` is that
 * exception response (§7).
 */
import type { FCallback, FCallbackVal, IServiceVector } from 'modbus-serial';
import type { Block, Table } from '../../drivers/modbus/register-map.js';

export interface SimulatedUnits {
  read(table: Table, unitId: number, addr: number, len: number): (number | boolean)[];
  setCoil?(unitId: number, addr: number, value: boolean): void;
  setRegister?(unitId: number, addr: number, value: number): void;
  answer<T>(unitId: number, cb: (err: Error | null, value: T) => void, produce: () => T): void;
}

export function modbusVector(s: SimulatedUnits): IServiceVector {
  const words = (t: Table, a: number, l: number, u: number) => s.read(t, u, a, l) as number[];
  const bit = (t: Table, a: number, u: number) => s.read(t, u, a, 1)[0] as boolean;
  const vector: IServiceVector = {
    // The single-register forms serve length-1 requests.
    getMultipleHoldingRegisters: (a: number, l: number, u: number, cb: FCallbackVal<number[]>) =>
      s.answer(u, cb, () => words('holding', a, l, u)),
    getHoldingRegister: (a: number, u: number, cb: FCallbackVal<number>) => s.answer(u, cb, () => words('holding', a, 1, u)[0]!),
    getMultipleInputRegisters: (a: number, l: number, u: number, cb: FCallbackVal<number[]>) =>
      s.answer(u, cb, () => words('input', a, l, u)),
    getInputRegister: (a: number, u: number, cb: FCallbackVal<number>) => s.answer(u, cb, () => words('input', a, 1, u)[0]!),
    // One call per bit.
    getCoil: (a: number, u: number, cb: FCallbackVal<boolean>) => s.answer(u, cb, () => bit('coils', a, u)),
    getDiscreteInput: (a: number, u: number, cb: FCallbackVal<boolean>) => s.answer(u, cb, () => bit('discrete', a, u)),
  };
  const { setCoil, setRegister } = s;
  if (setCoil) vector.setCoil = (a: number, v: boolean, u: number, cb: FCallback) => s.answer(u, cb, () => setCoil.call(s, u, a, v));
  if (setRegister)
    vector.setRegister = (a: number, v: number, u: number, cb: FCallback) => s.answer(u, cb, () => setRegister.call(s, u, a, v));
  return vector;
}

export const modbusError = (code: number, message: string) => Object.assign(new Error(message), { modbusErrorCode: code });
/** Exception 02: no such register or bit (or a read across blocks). */
export const illegalAddress = () => modbusError(2, 'illegal data address');

/** The block of the model (its name and itself) that holds all `len` registers or bits of `table` at `addr`; else exception 02. */
export function blockAt(blocks: Record<string, Block>, table: Table, addr: number, len: number): [string, Block] {
  const hit = Object.entries(blocks).find(([, b]) => b.table === table && addr >= b.start && addr + len <= b.start + b.length);
  if (!hit) throw illegalAddress();
  return hit;
}

/** A read of `len` registers or bits of `table` at `addr` (`values` holds each block's current words or bits). */
export function readBlock(
  blocks: Record<string, Block>,
  values: Record<string, (number | boolean)[]>,
  table: Table,
  addr: number,
  len: number,
): (number | boolean)[] {
  const [name, b] = blockAt(blocks, table, addr, len);
  return values[name]!.slice(addr - b.start, addr - b.start + len);
}

/** A unit that responds answers at once (the error, if `produce` throws one); one that does not stays silent. */
export function answerNow<T>(responding: boolean, cb: (err: Error | null, value: T) => void, produce: () => T): void {
  if (!responding) return;
  let value: T;
  try {
    value = produce();
  } catch (e) {
    return cb(e as Error, undefined as T);
  }
  cb(null, value);
}
