/** Site-file schema of the smart-bin family, and the categories of waste a station sorts. */
import { z } from 'zod';
import { DeviceBase, DriverBase } from '../../gateway/devices/driver-api.js';

/** Waste categories of the household sorting scheme (recyclable, kitchen, hazardous, other). */
export const CATEGORIES = ['recyclable', 'kitchen', 'hazardous', 'other'] as const;
export const Category = z.enum(CATEGORIES);
export type Category = z.infer<typeof Category>;

/** A broker account's user name, as `broker.accounts[].username` allows it. */
const Account = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "-" and "_" only');

export const SmartBinStation = z.strictObject({
  ...DeviceBase.shape,
  /**
   * The `device` account of the embedded broker this station publishes with (default: the
   * station id). One account may serve several stations of a bin room; a message for a station
   * under another account's topic is refused (`wrong-owner`).
   */
  account: Account.optional(),
}).refine((s) => s.id !== 'cmd', {
  path: ['id'],
  message: '"cmd" is reserved for commands to devices (dev/<account>/cmd/…): choose another station id',
});
export type SmartBinStation = z.infer<typeof SmartBinStation>;

export const SmartBinConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('smart-bin'),
  /** Drop records older than this are deleted when the driver starts (the committee reports on 30 or 90 days). */
  keepDays: z.number().int().min(1).max(3650).default(400),
  devices: z.array(SmartBinStation).min(1),
});
export type SmartBinConfig = z.infer<typeof SmartBinConfig>;

/** The broker account of a station. */
export const accountOf = (s: SmartBinStation): string => s.account ?? s.id;
