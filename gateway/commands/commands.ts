/**
 * Command requests over MQTT: parses the request, honours its deadline, runs it on the one
 * command path (`Execute`, the driver host's) and returns exactly one response.
 */
import type { Execute } from '../core/command-result.js';
import { CommandRequest, type CommandResponse } from '../core/contract-payloads.js';

export type { Execute } from '../core/command-result.js';

export interface CommandRequestOptions {
  now?: () => Date;
  /**
   * Called with an `accepted` response when the device accepted a command that completes later;
   * the returned promise still resolves with the final response.
   */
  onAccepted?: (res: CommandResponse) => void;
}

/**
 * Handles one command request payload from MQTT; always resolves to exactly one final response
 * (before which `onAccepted` may have been called once).
 */
export async function handleCommandRequest(
  execute: Execute,
  deviceId: string,
  name: string,
  payload: Buffer | string,
  opts: CommandRequestOptions = {},
): Promise<CommandResponse> {
  const now = opts.now ?? (() => new Date());
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
  const onAccepted = opts.onAccepted;
  const result = await execute(deviceId, name, args, {
    onAccepted:
      onAccepted &&
      ((data) => onAccepted({ ...base, id, status: 'accepted', ...(data ? { data } : {}), at: now().toISOString() })),
  });
  return result.ok
    ? { ...base, id, status: 'ok', ...(result.data ? { data: result.data } : {}), at: now().toISOString() }
    : { ...base, id, status: 'error', error: result.error, at: now().toISOString() };
}
