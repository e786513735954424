/**
 * Assembles the local alarm system of one gateway: the effective rule set, the engine (state
 * in the journal's database), the notifier (SMS, webhook) and the console feed on the ops
 * HTTP server. The engine sees every committed event; the feed every committed `alarm.*` event.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DEFINITIONS } from '../../drivers/index.js';
import type { LoginGuard } from '../auth/login-guard.js';
import type { Execute } from '../commands/commands.js';
import { AlarmFeed, consoleFeedOptions, type FeedAccount } from '../console/alarm-feed.js';
import { startConsole } from '../console/start-console.js';
import { registerAlarmRoutes } from '../console/console-routes.js';
import type { DeviceEvent, DeviceRef } from '../core/envelope.js';
import type { Watches } from '../core/watches.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { parseDuration } from '../core/time.js';
import type { AnyFamily } from '../devices/driver-api.js';
import type { ConsoleConfig, ConsoleFeedConfig } from '../http/http-config.js';
import type { RefusalReason } from '../http/http-server.js';
import type { Journal } from '../journal/journal.js';
import type { ModemPort } from '../notify/at-modem.js';
import { Notifier } from '../notify/notifier.js';
import type { NotifyConfig } from '../notify/notify-schema.js';
import { AlarmEngine, type AlarmEngineHooks } from './alarm-engine.js';
import { AlarmStore } from './alarm-store.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { AlarmsConfig, Rule } from '../core/rule-schema.js';
import { effectiveRules, linkageFailedRule } from './rule-set.js';

export interface AlarmSiteConfig {
  site: { id: string };
  gateway: { id: string };
  demo: boolean;
  broker: { accounts: readonly FeedAccount[] };
  alarms: AlarmsConfig;
  rules: readonly Rule[];
  notify: NotifyConfig;
  /** Feed limits (origins, login timeout, connections); defaults if omitted. */
  http?: { consoleFeed?: ConsoleFeedConfig; console?: ConsoleConfig };
}

export interface AlarmSystemOptions {
  config: AlarmSiteConfig;
  journal: Journal;
  pipeline: Pipeline;
  devices: ReadonlyMap<string, DeviceRef>;
  /** What each watching device (a camera) has in view: the targets of `watchers` actions. */
  watches?: ReadonlyMap<string, Watches>;
  execute: Execute;
  /** The ops HTTP server: feed at /alarms/feed, JSON at /alarms, console page at /alarms/console. */
  http: {
    server: Server;
    route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
    /** Where the staff console (/console/, its own logins) is mounted; no console without it. */
    mount?(prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
    /** The gateway's LoginGuard: console logins on the feed and /alarms share it with the ops server. */
    loginGuard?: LoginGuard;
    countRefusal?: (reason: RefusalReason) => void;
  };
  log: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Device families (default: the registry). */
  families?: readonly AnyFamily[];
  openModem?: (path: string, baudRate: number) => Promise<ModemPort>;
  /** Extra hooks (benchmark instrumentation). */
  hooks?: AlarmEngineHooks;
}

export type AlarmSystem = ReturnType<typeof startAlarmSystem>;

export function startAlarmSystem(o: AlarmSystemOptions) {
  const { config, metrics } = o;
  const log = o.log.child({ component: 'alarms' });
  const store = new AlarmStore(o.journal.db);
  const rules = effectiveRules(config.alarms, config.rules, o.families ?? DEFINITIONS);
  // Rules see each event as it enters the pipeline, in sequence order: the alarm event then joins
  // the group commit of its trigger (one disk flush, not two) and linkage commands go out at once.
  // Alarm state still commits with its alarm event (journal tx hook), so restarts stay exact.
  const ingest = (e: DeviceEvent) => o.pipeline.ingest(e);
  const notifier = new Notifier({
    config: config.notify,
    site: config.site.id,
    gateway: config.gateway.id,
    log: o.log.child({ component: 'notify' }),
    record: (id, outcome) => engine.recordNotification(id, outcome),
    openModem: o.openModem,
    onSent: (channel, ok) => metrics?.notifications.inc({ channel, outcome: ok ? 'ok' : 'failed' }),
  });
  const engine: AlarmEngine = new AlarmEngine({
    rules,
    linkageFailed: linkageFailedRule(config.rules),
    store,
    journal: o.journal,
    ingest,
    devices: o.devices,
    watches: o.watches,
    execute: o.execute,
    tiers: config.notify.tiers.map((t) => ({ name: t.name, afterMs: parseDuration(t.after) })),
    maintenance: config.alarms.maintenance,
    clock: o.clock ?? systemClock,
    log,
    hooks: {
      notify: (a, tier) => {
        notifier.notify(a, tier);
        o.hooks?.notify?.(a, tier);
      },
      actionSent: o.hooks?.actionSent,
      actionDone: (x) => {
        metrics?.alarmActions.inc({ command: x.command, outcome: x.outcome });
        o.hooks?.actionDone?.(x);
      },
      transition: (type, a) => {
        metrics?.alarmTransitions.inc({ type, rule: a.rule });
        o.hooks?.transition?.(type, a);
      },
    },
  });
  const staffConsole = startConsole({
    mount: o.http.mount,
    db: o.journal.db,
    engine,
    accounts: config.broker.accounts,
    loginGuard: o.http.loginGuard,
    config: config.http,
    log: o.log.child({ component: 'console' }),
  });
  const feed = new AlarmFeed({
    server: o.http.server,
    engine,
    accounts: config.broker.accounts,
    demo: config.demo,
    log: o.log.child({ component: 'alarm-feed' }),
    loginGuard: o.http.loginGuard,
    onRefused: o.http.countRefusal,
    sessionOf: (req) => staffConsole?.feedSession(req),
    onAction: (a) => staffConsole?.audit.record(a),
    ...consoleFeedOptions(config.http?.consoleFeed),
  });
  const eng = engine;
  registerAlarmRoutes({
    route: o.http.route,
    mount: o.http.mount,
    activeAlarms: () => eng.activeAlarms(),
    accounts: config.broker.accounts,
    demo: config.demo,
    loginGuard: o.http.loginGuard,
  });
  // The engine's own `alarm.*` transitions are not fed back into the rules.
  o.pipeline.onIngested((env) => {
    if (!env.type.startsWith('alarm.')) eng.handle(env);
  });
  o.pipeline.onCommitted((env) => eng.committed(env));
  // The console gets alarms as soon as they may go out: with the disk full, before their commit.
  o.pipeline.onDelivered((env, json) => {
    if (env.kind === 'alarm' && env.type.startsWith('alarm.')) {
      feed.publish(env, json);
      metrics?.alarmsActive.set(eng.activeAlarms().length);
      metrics?.alarmFeedClients.set(feed.clientCount);
    }
  });

  return {
    engine: eng,
    feed,
    /** The staff console (sessions, audit trail, API router) when the ops server mounts it. */
    console: staffConsole,
    notifier,
    store,
    rules,
    /** Loads the durable state and re-arms timers; call once the command path is ready. */
    start(): void {
      eng.start();
      metrics?.alarmsActive.set(eng.activeAlarms().length);
    },
    /** Stops timers and closes the modem and the feed (after the pipeline's last flush). */
    async close(): Promise<void> {
      eng.stop();
      await feed.close();
      await notifier.close();
    },
  };
}
