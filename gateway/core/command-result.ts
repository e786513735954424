/**
 * What running a device command gives back, and the one command path every caller uses
 * (operators on the local bus, alarm linkage, the city platform).
 */

/** The final result of a command on one device. */
export type CommandResult = { ok: true; data?: Record<string, unknown> } | { ok: false; error: string };

export interface ExecuteOptions {
  /**
   * Called once when the device has accepted a command that completes later (a door that takes
   * seconds to open, a charger that confirms a transaction): callers answering over MQTT send an
   * `accepted` response now and the final one when the returned promise settles.
   */
  onAccepted?: (data?: Record<string, unknown>) => void;
}

/**
 * Runs a command on one device: checks the device, the command (per model) and its arguments,
 * and resolves with the final result. Never rejects.
 */
export type Execute = (
  deviceId: string,
  name: string,
  args: unknown,
  opts?: ExecuteOptions,
) => Promise<CommandResult>;
