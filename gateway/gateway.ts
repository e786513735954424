/**
 * One gateway from a validated site config, as a list of components started in order and
 * closed in reverse: journal, local broker, ops HTTP, status, city uplink, alarm system, camera
 * live view, local commands, device drivers. `startGateway` resolves when every component is running.
 */
import { dirname, join } from 'node:path';
import type { SiteConfig } from '../config/schema.js';
import { DEFINITIONS } from '../drivers/index.js';
import { type AlarmSystem, type AlarmSystemOptions, startAlarmSystem } from './alarms/alarm-system.js';
import { LoginGuard } from './auth/login-guard.js';
import { type RunningBroker, startBroker } from './broker/broker.js';
import { BrokerLogin } from './broker/broker-config.js';
import { DeviceState } from './broker/device-state.js';
import { handleCommandRequest } from './commands/commands.js';
import { type Clock, localTimeZone } from './core/clock.js';
import { type Component, startInOrder } from './core/components.js';
import { errorMessage, GatewayError } from './core/errors.js';
import { bridgePipelineToBus, LocalBus } from './pipeline/local-bus.js';
import type { Logger } from './core/logger.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { Pipeline } from './pipeline/pipeline.js';
import { topicRoot, topics } from './core/topics.js';
import { FileStore } from './devices/driver-files.js';
import { DriverHost } from './devices/driver-host.js';
import { buildInventory } from './devices/inventory.js';
import { httpSecurity, startHttp } from './http/http-server.js';
import { Journal } from './journal/journal.js';
import { createGatewayUplink } from './uplink/index.js';
import { LiveView, STREAM_URI_COMMAND } from './video/live-view.js';
import { VERSION } from './core/version.js';

export type Gateway = Awaited<ReturnType<typeof startGateway>>;
type RunningHttp = Awaited<ReturnType<typeof startHttp>>;

/** Test and benchmark seams; production passes nothing. */
export interface GatewayOptions {
  /** Clock of the alarm engine (`for` timers, escalation). */
  clock?: Clock;
  alarmHooks?: AlarmSystemOptions['hooks'];
  openModem?: AlarmSystemOptions['openModem'];
}

export async function startGateway(config: SiteConfig, log: Logger, opts: GatewayOptions = {}) {
  const startedAt = Date.now();
  const metrics = createMetrics();
  const root = topicRoot(config.site.id, config.gateway.id);
  const inventory = buildInventory(config.gateway.id, config.drivers, DEFINITIONS);
  for (const d of config.drivers) {
    if (!DEFINITIONS.some((f) => f.family === d.family))
      throw new GatewayError('DRIVER_UNKNOWN', `no driver for family ${d.family}`);
  }

  const journal = new Journal(config.journal);
  for (const m of journal.migrated) log.info(m, 'database migrated');
  let pipeline: Pipeline, drivers: DriverHost, uplink: ReturnType<typeof createGatewayUplink>;
  try {
    pipeline = new Pipeline({
      site: config.site.id,
      gateway: config.gateway.id,
      journal,
      devices: inventory.devices,
      metrics,
      log: log.child({ component: 'pipeline' }),
    });
    drivers = new DriverHost({
      families: DEFINITIONS,
      drivers: config.drivers,
      inventory,
      ingest: (e) => pipeline.ingest(e),
      busy: () => pipeline.pressure === 'behind',
      db: journal.db,
      // Pictures and snapshots of the drivers, beside the journal, within their own budget.
      files: new FileStore({
        dir: join(dirname(config.journal.path), 'files'),
        budgetBytes: config.files.maxSizeMB * 1024 * 1024,
      }),
      metrics,
      log,
      site: { ...config.site, timezone: config.site.timezone ?? localTimeZone() },
    });
    // City uplink: its outbox rows commit in the journal transaction of their events.
    uplink = createGatewayUplink({
      config,
      root,
      journal,
      pipeline,
      inventory,
      families: DEFINITIONS,
      metrics,
      log,
      execute: drivers.execute,
    });
  } catch (err) {
    journal.close();
    throw err;
  }
  // The one command path, for operators, linkage and the city platform.
  const execute = drivers.execute;
  // One guard for every password login (broker, ops HTTP, console feed): a lockout and the cap on
  // concurrent scrypt checks hold across all of them.
  const loginGuard = new LoginGuard({
    ...BrokerLogin.parse(config.broker.login ?? {}),
    log,
    onThrottled: () => metrics.loginLockouts.inc(),
  });

  let broker!: RunningBroker;
  let bus!: LocalBus;
  let http!: RunningHttp;
  let alarms!: AlarmSystem;
  let liveView!: LiveView;
  let closing = false;
  let pruneTimer: NodeJS.Timeout | undefined;
  const publishNow = (topic: string, payload: string, retain = false) =>
    bus.publish(topic, payload, { qos: 1, retain, urgent: true });

  const components: Component[] = [
    {
      name: 'journal',
      start() {
        pruneTimer = setInterval(() => {
          try {
            const n = journal.prune();
            if (n) log.info({ deleted: n }, 'journal retention');
          } catch (err) {
            log.error({ err: errorMessage(err) }, 'journal retention failed');
          }
        }, 60_000);
        pruneTimer.unref();
      },
      close() {
        clearInterval(pruneTimer);
        // Waits for the writer thread: what the pipeline posted last is committed first.
        return journal.close();
      },
    },
    {
      name: 'broker',
      async start() {
        // Each device's latest reading, held by seq and read from the journal when a client subscribes.
        const deviceState = new DeviceState({ root, read: (seqs) => journal.bodies(seqs), log });
        broker = await startBroker(config.broker, {
          demo: config.demo,
          log,
          deviceState,
          onDenied: (e) => metrics.brokerDenied.inc({ what: e.action, reason: e.reason }),
          loginGuard,
          onDevicePublish: drivers.onDevicePublish,
          // While behind, MQTT devices wait (up to a second a message) and their sockets are not read.
          holdDevice: () => (pipeline.pressure === 'behind' ? pipeline.relief(1_000) : undefined),
        });
        // Everything the gateway publishes locally goes through one bounded window, alarms first.
        bus = new LocalBus({ publish: broker.send, log: log.child({ component: 'local-bus' }), metrics });
        bridgePipelineToBus(pipeline, bus, root, deviceState);
      },
      close: () => broker.close(),
    },
    {
      name: 'http',
      async start() {
        http = await listenHttp(config, () => ({
          ok: !closing,
          // degraded: behind (telemetry coalesced, polls slowed) or the disk refuses commits.
          status: closing ? 'stopping' : pipeline.pressure === 'ok' ? 'ok' : 'degraded',
          pressure: {
            state: pipeline.pressure,
            queues: { ...pipeline.depths, localBus: bus.depth },
            telemetryShed: pipeline.shedCount,
          },
          version: VERSION,
          site: config.site.id,
          gateway: config.gateway.id,
          uptimeS: Math.round((Date.now() - startedAt) / 1000),
          journal: { lastSeq: pipeline.lastSeq, pending: pipeline.pendingCount },
          uplink: uplink && { link: uplink.state, commandsReady: uplink.commandsReady },
          drivers: drivers.status(),
        }), { loginGuard, metrics, log });
      },
      close: () => http.close(),
    },
    {
      name: 'status',
      start: () =>
        publishNow(
          topics.status(root),
          JSON.stringify({ status: 'online', version: VERSION, since: new Date().toISOString() }),
          true,
        ),
      close: () =>
        publishNow(topics.status(root), JSON.stringify({ status: 'offline', since: new Date().toISOString() }), true),
    },
    { name: 'uplink', start: () => uplink?.start(), close: () => uplink?.close() },
    {
      // Local alarm rules, linkage and notification; independent of the uplink.
      name: 'alarms',
      start() {
        alarms = startAlarmSystem({
          config,
          journal,
          pipeline,
          devices: inventory.devices,
          watches: inventory.watches,
          families: DEFINITIONS,
          execute,
          http,
          log,
          metrics,
          clock: opts.clock,
          hooks: opts.alarmHooks,
          openModem: opts.openModem,
        });
        alarms.start();
        // The console's site pages: plan, device actions, pictures, device and event history.
        alarms.console?.attach({
          devices: inventory.birthDevices(),
          execute,
          filesDir: join(dirname(config.journal.path), 'files'),
          deviceConfig: (id) => inventory.deviceConfig(id),
          privacy: config.privacy,
        });
      },
      async close() {
        await alarms.close();
        pipeline.flush(true);
      },
    },
    {
      // Live view of the cameras on the ops server, for logged-in console staff.
      name: 'video',
      start() {
        const cameras = new Set(
          inventory.birthDevices().filter((d) => d.commands.includes(STREAM_URI_COMMAND)).map((d) => d.id),
        );
        liveView = new LiveView({
          server: http.server,
          execute,
          isCamera: (id) => cameras.has(id),
          // The staff console's session of the request's cookie.
          authorize: async (req) => {
            const s = alarms.console?.feedSession(req);
            return s && { user: s.user, role: s.role };
          },
          config: config.video,
          allowedOrigins: config.http.consoleFeed.allowedOrigins,
          registry: metrics.registry,
          log: log.child({ component: 'live-view' }),
        });
      },
      close: () => liveView.close(),
    },
    {
      // Operators' commands on the local bus (only admin accounts may publish there).
      name: 'local-commands',
      start() {
        const prefix = `${root}/cmd/`;
        broker.aedes.subscribe(
          `${prefix}+/+`,
          (packet, done) => {
            done();
            const [deviceId = '', name = ''] = packet.topic.slice(prefix.length).split('/');
            const respond = (res: object) => publishNow(topics.commandResponse(root, deviceId), JSON.stringify(res));
            void handleCommandRequest(execute, deviceId, name, packet.payload as Buffer, { onAccepted: respond }).then(
              (res) => {
                log.info({ audit: 'command', source: 'local-bus', ...res }, 'command');
                return respond(res);
              },
            );
          },
          () => {},
        );
      },
      close() {},
    },
    {
      name: 'drivers',
      start: () => drivers.start(),
      async close() {
        closing = true;
        await drivers.close();
        pipeline.flush(true);
      },
    },
  ];
  const running = await startInOrder(components, log);
  log.info({ ms: Date.now() - startedAt, http: http.url, broker: broker.listeners }, 'gateway ready');
  return {
    config,
    root,
    journal,
    pipeline,
    broker,
    http,
    metrics,
    drivers,
    execute,
    uplink,
    alarms,
    close: running.close,
  };
}

async function listenHttp(
  config: SiteConfig,
  health: Parameters<typeof startHttp>[0]['health'],
  o: { loginGuard: LoginGuard; metrics: Metrics; log: Logger },
): Promise<RunningHttp> {
  try {
    return await startHttp({
      host: config.http.host,
      port: config.http.port,
      security: { ...httpSecurity(config), loginGuard: o.loginGuard, warn: (msg) => o.log.warn(msg) },
      registry: o.metrics.registry,
      health,
    });
  } catch (err) {
    if (err instanceof GatewayError) throw err; // e.g. an unusable http.metricsTokenFile
    throw new GatewayError(
      'HTTP_LISTEN',
      `cannot listen on ${config.http.host}:${config.http.port}: ${errorMessage(err)}`,
      'change http.port or stop what uses it',
      { cause: err },
    );
  }
}
