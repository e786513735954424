/**
 * A device family for tests of the host and its callers, scripted by the test: what each poll
 * does, how many starts fail, what each command answers. It exposes the context of its running
 * instance so a test can emit, report and store as a driver would.
 */
import { z } from 'zod';
import {
  type Accepted,
  type CommandOutcome,
  DeviceBase,
  DriverBase,
  type DriverContext,
  type FamilyDefinition,
  PollConfig,
} from '../driver-api.js';

export const WidgetDevice = z.strictObject({ ...DeviceBase.shape, model: z.enum(['full', 'plain']).default('full') });
export type WidgetDevice = z.infer<typeof WidgetDevice>;

export const WidgetConfig = z.strictObject({
  ...DriverBase.shape,
  family: z.literal('widget'),
  ...PollConfig,
  devices: z.array(WidgetDevice),
});
export type WidgetConfig = z.infer<typeof WidgetConfig>;

const WIDGET_COMMANDS = {
  'valve.close': z.strictObject({}),
  'dim.set': z.strictObject({ percent: z.number().min(0).max(100) }),
  /** Accepted at once, completed when the test resolves `control.finishDoor`. */
  'door.open': z.strictObject({}),
};

export interface WidgetControl {
  /** The context of the instance created last. */
  ctx?: DriverContext;
  created: number;
  /** Starts that fail, counted from the first. */
  failStarts: number;
  started: number;
  stopped: number;
  /** What a poll of a device does: resolve, or throw this. Default: resolve. */
  pollOutcome: Map<string, Error>;
  polls: string[];
  /** Commands the handlers ran. */
  commands: { deviceId: string; name: string; args: unknown }[];
  finishDoor?: (r: { ok: true; data?: Record<string, unknown> } | { ok: false; error: string }) => void;
  fatal?: (err: Error) => void;
}

export function widgetFamily(
  opts: { poll?: boolean; livenessTimeoutMs?: number } = {},
): { family: FamilyDefinition<WidgetConfig, typeof WIDGET_COMMANDS>; control: WidgetControl } {
  const control: WidgetControl = {
    created: 0,
    failStarts: 0,
    started: 0,
    stopped: 0,
    pollOutcome: new Map(),
    polls: [],
    commands: [],
  };
  const run = (deviceId: string, name: string, args: unknown): Promise<CommandOutcome> => {
    control.commands.push({ deviceId, name, args });
    return Promise.resolve({ ok: true, data: { done: name } });
  };
  const family: FamilyDefinition<WidgetConfig, typeof WIDGET_COMMANDS> = {
    family: 'widget',
    configSchema: WidgetConfig,
    commands: WIDGET_COMMANDS,
    commandsFor: (d) => (d.model === 'plain' ? ['dim.set'] : ['valve.close', 'dim.set', 'door.open']),
    events: {
      'widget.reading': {
        kind: 'telemetry',
        data: z.strictObject({ value: z.number() }),
        description: 'a reading',
      },
    },
    lifeSafety: false,
    livenessTimeoutMs: opts.livenessTimeoutMs,
    create(_config, ctx) {
      control.created += 1;
      control.ctx = ctx;
      return {
        async start() {
          control.started += 1;
          if (control.started <= control.failStarts) throw new Error(`start ${control.started} failed`);
        },
        async stop() {
          control.stopped += 1;
        },
        onFatal(listener) {
          control.fatal = listener;
        },
        ...(opts.poll === false
          ? {}
          : {
              async poll(d: WidgetDevice) {
                control.polls.push(d.id);
                const err = control.pollOutcome.get(d.id);
                if (err) throw err;
              },
            }),
        commands: {
          'valve.close': (d, a) => run(d.id, 'valve.close', a),
          'dim.set': (d, a) => run(d.id, 'dim.set', a),
          'door.open': async (d, a): Promise<Accepted> => {
            control.commands.push({ deviceId: d.id, name: 'door.open', args: a });
            return {
              accepted: true,
              data: { eta: 5 },
              done: new Promise((resolve) => {
                control.finishDoor = resolve;
              }),
            };
          },
        },
      };
    },
  };
  return { family, control };
}

export function widgetConfig(devices: { id: string; model?: 'full' | 'plain' }[], extra: Record<string, unknown> = {}): WidgetConfig {
  return WidgetConfig.parse({ family: 'widget', id: 'widgets', devices, ...extra });
}
