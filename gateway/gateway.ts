/**
 * Assembles one gateway from a validated site config: journal, local broker, event
 * pipeline, supervised drivers, operations HTTP. `startGateway` resolves when ready.
 */
import type { SiteConfig } from '../config/schema.js';
import { driverFor } from '../drivers/index.js';
import { type AlarmSystemOptions, startAlarmSystem } from './alarms/alarm-system.js';
import type { Clock } from './core/clock.js';
import { LoginGuard } from './auth/login-guard.js';
import { startBroker } from './broker/broker.js';
import { BrokerLogin } from './broker/broker-config.js';
import { commandExecutor, handleCommandRequest } from './commands/commands.js';
import type { DeviceRef } from './core/envelope.js';
import { errorMessage, GatewayError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import { createMetrics } from './core/metrics.js';
import { bridgePipelineToBus, LocalBus } from './core/local-bus.js';
import { Pipeline } from './core/pipeline.js';
import { topicRoot, topics } from './core/topics.js';
import type { DriverContext } from './devices/driver-api.js';
import { DriverSupervisor } from './devices/supervisor.js';
import { httpSecurity, startHttp } from './http/http-server.js';
import { Journal } from './journal/journal.js';
import { createGatewayUplink } from './uplink/index.js';
import { VERSION } from './version.js';

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

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
  const gatewayDevice: DeviceRef = { id: config.gateway.id, family: 'gateway', tags: [] };

  const devices = new Map<string, DeviceRef>([[gatewayDevice.id, gatewayDevice]]);
  const deviceDriver = new Map<string, string>();
  for (const d of config.drivers) {
    for (const dev of d.devices) {
      devices.set(dev.id, {
        id: dev.id,
        family: d.family,
        building: dev.building,
        zone: dev.zone,
        tags: dev.tags,
      });
      deviceDriver.set(dev.id, d.id);
    }
  }

  const journal = new Journal(config.journal);
  const pruneTimer = setInterval(() => {
    try {
      const n = journal.prune();
      if (n) log.info({ deleted: n }, 'journal retention');
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'journal retention failed');
    }
  }, 60_000);
  pruneTimer.unref();

  const pipeline = new Pipeline({
    site: config.site.id,
    gateway: config.gateway.id,
    journal,
    devices,
    metrics,
    log: log.child({ component: 'pipeline' }),
  });

  // One guard for every password login (broker, ops HTTP, console feed): a lockout and the cap on
  // concurrent scrypt checks hold across all of them.
  const loginGuard = new LoginGuard({
    ...BrokerLogin.parse(config.broker.login ?? {}),
    log,
    onThrottled: () => metrics.loginLockouts.inc(),
  });
  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker(config.broker, {
      demo: config.demo,
      log,
      onDenied: (e) => metrics.brokerDenied.inc({ what: e.action, reason: e.reason }),
      loginGuard,
      // While behind, MQTT devices wait (up to a second a message) and their sockets are not read.
      holdDevice: () => (pipeline.pressure === 'behind' ? pipeline.relief(1_000) : undefined),
    });
  } catch (err) {
    journal.close();
    throw err;
  }
  // Everything the gateway publishes locally goes through one bounded window, alarms first.
  const bus = new LocalBus({ publish: broker.publish, log: log.child({ component: 'local-bus' }), metrics });
  const publish = (topic: string, payload: string, retain = false) =>
    bus.publish(topic, payload, { qos: 1, retain, urgent: true });

  // City uplink: its outbox rows commit in the journal transaction of their events.
  const uplink = createGatewayUplink({
    config,
    root,
    journal,
    pipeline,
    metrics,
    log,
    execute: (deviceId, name, args) => command(deviceId, name, args),
  });
  bridgePipelineToBus(pipeline, bus, root);

  let closing = false;
  const online = new Map<string, boolean>();
  const supervisors: DriverSupervisor[] = [];
  for (const d of config.drivers) {
    if (!d.enabled) continue;
    const definition = driverFor(d.family);
    if (!definition) throw new GatewayError('DRIVER_UNKNOWN', `no driver for family ${d.family}`);
    const dlog = log.child({ driver: d.id, family: d.family });
    const ctx: DriverContext = {
      log: dlog,
      emit: (e) => pipeline.ingest(e),
      availability(deviceId, isOnline, reason) {
        if (online.get(deviceId) === isOnline) return;
        const wasKnown = online.has(deviceId);
        online.set(deviceId, isOnline);
        if (isOnline) metrics.devicesOnline.inc({ family: d.family });
        else if (wasKnown) metrics.devicesOnline.dec({ family: d.family });
        pipeline.ingest({
          deviceId,
          type: 'device.availability',
          kind: 'event',
          severity: isOnline ? 'info' : 'warning',
          data: { online: isOnline, ...(reason ? { reason } : {}) },
        });
      },
      invalid(deviceId, reason, raw) {
        metrics.invalidInputs.inc({ family: d.family });
        dlog.warn({ device: deviceId, reason, raw }, 'invalid device data');
      },
      busy: () => pipeline.pressure === 'behind',
      pollError(deviceId, reason) {
        metrics.pollErrors.inc({ driver: d.id });
        dlog.debug({ device: deviceId, reason }, 'poll failed');
      },
    };
    const sup = new DriverSupervisor({
      definition,
      config: d,
      context: ctx,
      log: dlog,
      onRestart: () => metrics.driverRestarts.inc({ driver: d.id }),
    });
    supervisors.push(sup);
  }

  // The one command path, for operators, linkage and the city platform.
  const supervisorOf = new Map(supervisors.map((s) => [s.id, s]));
  const command = commandExecutor((deviceId) => {
    const sup = supervisorOf.get(deviceDriver.get(deviceId) ?? '');
    return (
      sup && { definition: driverFor(sup.family)!, run: (id, name, args) => sup.command(id, name, args) }
    );
  });

  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    http = await startHttp({
      host: config.http.host,
      port: config.http.port,
      security: { ...httpSecurity(config), loginGuard, warn: (msg) => log.warn(msg) },
      registry: metrics.registry,
      health: () => ({
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
        drivers: supervisors.map((s) => ({
          id: s.id,
          family: s.family,
          state: s.state,
          lastError: s.lastError,
        })),
      }),
    });
  } catch (err) {
    await broker.close();
    journal.close();
    if (err instanceof GatewayError) throw err; // e.g. an unusable http.metricsTokenFile
    throw new GatewayError(
      'HTTP_LISTEN',
      `cannot listen on ${config.http.host}:${config.http.port}: ${errorMessage(err)}`,
      'change http.port or stop what uses it',
      { cause: err },
    );
  }

  // Local alarm rules, linkage and notification; independent of the uplink.
  const alarms = startAlarmSystem({
    config,
    journal,
    pipeline,
    devices,
    execute: (deviceId, name, args) => command(deviceId, name, args),
    http,
    log,
    metrics,
    clock: opts.clock,
    hooks: opts.alarmHooks,
    openModem: opts.openModem,
  });

  await publish(
    topics.status(root),
    JSON.stringify({ status: 'online', version: VERSION, since: new Date().toISOString() }),
    true,
  );
  for (const s of supervisors) s.start();
  uplink?.start();

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    clearInterval(pruneTimer);
    await Promise.all(supervisors.map((s) => s.stop()));
    pipeline.flush(true);
    await alarms.close();
    pipeline.flush(true);
    await uplink?.close();
    await publish(
      topics.status(root),
      JSON.stringify({ status: 'offline', since: new Date().toISOString() }),
      true,
    );
    await http.close();
    await broker.close();
    journal.close();
  }

  // Operators' commands on the local bus (only admin accounts may publish there).
  const cmdPrefix = `${root}/cmd/`;
  broker.aedes.subscribe(
    `${cmdPrefix}+/+`,
    (packet, done) => {
      done();
      const [deviceId = '', name = ''] = packet.topic.slice(cmdPrefix.length).split('/');
      void handleCommandRequest(command, deviceId, name, packet.payload as Buffer).then((res) => {
        log.info({ audit: 'command', source: 'local-bus', ...res }, 'command');
        return publish(topics.commandResponse(root, deviceId), JSON.stringify(res));
      });
    },
    () => {},
  );

  alarms.start();
  log.info({ ms: Date.now() - startedAt, http: http.url, broker: broker.listeners }, 'gateway ready');
  return {
    config,
    root,
    journal,
    pipeline,
    broker,
    http,
    metrics,
    supervisors,
    command,
    uplink,
    alarms,
    close,
  };
}
