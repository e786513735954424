/** Commands of the ev-charger family: OCPP 1.6 calls from the central system, with their arguments. */
import { z } from 'zod';
import type { CommandHandlers, CommandOutcome, CommandResult } from '../../gateway/devices/driver-api.js';
import { IdTag, type EvChargerDevice } from './schema.js';

const ConnectorId = z.number().int().min(1);

export const EV_COMMANDS = {
  /** RemoteStartTransaction: `accepted` at once, final when the charge point's StartTransaction arrives. */
  'remote-start': z.strictObject({ idTag: IdTag, connectorId: ConnectorId.optional() }),
  /** RemoteStopTransaction: one transaction, those of one connector, or (no argument) every open one. */
  'remote-stop': z.strictObject({ transactionId: z.number().int().optional(), connectorId: ConnectorId.optional() }),
  /** ChangeAvailability: connector 0 is the whole charge point. */
  'change-availability': z.strictObject({
    connectorId: z.number().int().min(0).default(0),
    type: z.enum(['Inoperative', 'Operative']),
  }),
  'change-configuration': z.strictObject({ key: z.string().min(1).max(50), value: z.string().max(500) }),
  reset: z.strictObject({ type: z.enum(['Soft', 'Hard']).default('Soft') }),
} as const;
export type EvCommands = CommandHandlers<typeof EV_COMMANDS, EvChargerDevice>;

/** What the handlers need of the central system (the driver): calls to a charge point and its open transactions. */
export interface CentralSystemCalls {
  call(device: EvChargerDevice, method: string, params: Record<string, unknown>, ok: readonly string[]): Promise<CommandResult>;
  /** Sends, then completes when the charge point reports what `match` recognises (e.g. its StartTransaction). */
  untilReported(
    device: EvChargerDevice,
    send: () => Promise<CommandResult>,
    match: (method: string, p: Record<string, unknown>, txId?: number) => boolean,
  ): Promise<CommandOutcome>;
  openTransactions(id: string): { transactionId: number; tx: { connectorId: number } }[];
}

export function commandHandlers(cs: CentralSystemCalls): EvCommands {
  return {
    'remote-start': (device, args) =>
      cs.untilReported(
        device,
        () => cs.call(device, 'RemoteStartTransaction', args, ['Accepted']),
        (method, p) =>
          method === 'StartTransaction' &&
          p.idTag === args.idTag &&
          (args.connectorId === undefined || p.connectorId === args.connectorId),
      ),

    async 'remote-stop'(device, args) {
      const open = cs
        .openTransactions(device.id)
        .filter((t) => args.transactionId === undefined || t.transactionId === args.transactionId)
        .filter((t) => args.connectorId === undefined || t.tx.connectorId === args.connectorId);
      if (args.transactionId !== undefined && open.length === 0)
        return { ok: false, error: `no open transaction ${args.transactionId} on ${device.id}` };
      const results = await Promise.all(
        open.map((t) => cs.call(device, 'RemoteStopTransaction', { transactionId: t.transactionId }, ['Accepted'])),
      );
      const failed = results.find((r) => !r.ok);
      return failed ?? { ok: true, data: { transactionIds: open.map((t) => t.transactionId) } };
    },

    'change-availability': (device, args) => cs.call(device, 'ChangeAvailability', args, ['Accepted', 'Scheduled']),
    'change-configuration': (device, args) =>
      cs.call(device, 'ChangeConfiguration', args, ['Accepted', 'RebootRequired']),
    reset: (device, args) => cs.call(device, 'Reset', args, ['Accepted']),
  };
}
