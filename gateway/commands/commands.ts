/**
 * Device commands: one path for every caller (operators on the local bus, alarm linkage,
 * the city platform). Validates the device, the command and its arguments, honours the
 * deadline, and returns exactly one response.
 */
import { CommandRequest, type CommandResponse } from '../core/contract-payloads.js';
import { errorMessage } from '../core/errors.js';
import type { AnyDriverDefinition, CommandResult } from '../devices/driver-api.js';

export interface CommandTarget {
  definition: AnyDriverDefinition;
  run(deviceId: string, name: string, args: unknown): Promise<CommandResult>;
}

export type Execute = (deviceId: string, name: string, args: unknown) => Promise<CommandResult>;

/** Builds `execute` from a lookup of the driver behind each device. */
export function commandExecutor(targetOf: (deviceId: string) => CommandTarget | undefined): Execute {
  return async (deviceId, name, args) => {
    const target = targetOf(deviceId);
    if (!target) return { ok: false, error: `unknown device "${deviceId}"` };
    const schema = target.definition.commands[name];
    if (!schema) {
      const known = Object.keys(target.definition.commands).join(', ') || 'none';
      return {
        ok: false,
        error: `a ${target.definition.family} has no command "${name}" (commands: ${known})`,
      };
    }
    const parsed = schema.safeParse(args ?? {});
    if (!parsed.success) {
      return {
        ok: false,
        error: `bad arguments for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}`,
      };
    }
    try {
      return await target.run(deviceId, name, parsed.data);
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  };
}

/** Handles one command request payload from MQTT; always resolves to exactly one response. */
export async function handleCommandRequest(
  execute: Execute,
  deviceId: string,
  name: string,
  payload: Buffer | string,
  now: () => Date = () => new Date(),
): Promise<CommandResponse> {
  const base = { deviceId, command: name };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch {
    return {
      ...base,
      id: '',
      status: 'error',
      error: 'payload is not JSON: send {"id": "...", "args": {...}}',
      at: now().toISOString(),
    };
  }
  const req = CommandRequest.safeParse(json);
  if (!req.success) {
    const id = typeof (json as { id?: unknown })?.id === 'string' ? (json as { id: string }).id : '';
    const why = req.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
    return {
      ...base,
      id,
      status: 'error',
      error: `invalid command request: ${why}`,
      at: now().toISOString(),
    };
  }
  const { id, args, expiresAt } = req.data;
  if (expiresAt && Date.parse(expiresAt) <= now().getTime()) {
    return {
      ...base,
      id,
      status: 'expired',
      error: `expired at ${expiresAt}; not executed`,
      at: now().toISOString(),
    };
  }
  const result = await execute(deviceId, name, args);
  return result.ok
    ? { ...base, id, status: 'ok', ...(result.data ? { data: result.data } : {}), at: now().toISOString() }
    : { ...base, id, status: 'error', error: result.error, at: now().toISOString() };
}
