/** Prometheus metrics of one gateway (served on `/metrics`). One registry per gateway instance. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_process_' });
  return {
    registry,
    eventsIn: new Counter({
      name: 'gateway_events_in_total',
      help: 'Events reported by drivers and accepted into the pipeline',
      labelNames: ['family', 'kind'] as const,
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'gateway_events_published_total',
      help: 'Events committed to the journal and published on the local bus',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    invalidInputs: new Counter({
      name: 'gateway_invalid_inputs_total',
      help: 'Device messages or data that did not validate and became no event',
      labelNames: ['family'] as const,
      registers: [registry],
    }),
    pollErrors: new Counter({
      name: 'gateway_driver_poll_errors_total',
      help: 'Failed device polls, per driver instance',
      labelNames: ['driver'] as const,
      registers: [registry],
    }),
    driverRefused: new Counter({
      name: 'gateway_driver_refused_total',
      help: 'Inbound device input a driver refused (auth, shape, too-large, unknown-sender, unknown-route, handler-error, ...), per driver instance, family and reason',
      labelNames: ['driver', 'family', 'reason'] as const,
      registers: [registry],
    }),
    driverRestarts: new Counter({
      name: 'gateway_driver_restarts_total',
      help: 'Driver instances restarted by the supervisor after a failure',
      labelNames: ['driver'] as const,
      registers: [registry],
    }),
    devicesOnline: new Gauge({
      name: 'gateway_devices_online',
      help: 'Devices currently online, per family',
      labelNames: ['family'] as const,
      registers: [registry],
    }),
    journalPending: new Gauge({
      name: 'gateway_journal_pending',
      help: 'Events waiting for the next group commit (journal lag, in events)',
      registers: [registry],
    }),
    telemetryShed: new Counter({
      name: 'gateway_telemetry_shed_total',
      help: 'Telemetry readings dropped while the gateway was behind (a newer reading of the same device and quantity was kept, or the queue was full), per family',
      labelNames: ['family'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'gateway_queue_depth',
      help: 'Messages waiting in each bounded stage (commit-urgent: alarms and events awaiting commit; commit-telemetry: telemetry awaiting commit; local-bus: publishes awaiting the local broker)',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    degraded: new Gauge({
      name: 'gateway_degraded',
      help: '1 while the gateway is behind (coalescing telemetry, slowing polls) or cannot commit to disk, per reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    journalLastSeq: new Gauge({
      name: 'gateway_journal_last_seq',
      help: 'Sequence number of the last committed event',
      registers: [registry],
    }),
    journalCommitSeconds: new Histogram({
      name: 'gateway_journal_commit_seconds',
      help: "From a batch posted to the journal's writer thread to its answer (committed and, with synchronous FULL, fsynced)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    journalLagSeconds: new Histogram({
      name: 'gateway_journal_lag_seconds',
      help: 'Per committed batch: time from its first event\'s device message reaching the gateway to the commit',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    uplinkLinkUp: new Gauge({
      name: 'gateway_uplink_link_up',
      help: 'City broker link: 1 connected, 0 not (connecting, backoff, stopped)',
      registers: [registry],
    }),
    uplinkConnectFailures: new Counter({
      name: 'gateway_uplink_connect_failures_total',
      help: 'Failed or lost city broker connections, by reason (unreachable, tls, auth, refused, lost, protocol)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    uplinkBacklog: new Gauge({
      name: 'gateway_uplink_backlog',
      help: 'Outbox messages not yet acknowledged by the city broker, per lane',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    uplinkBacklogBytes: new Gauge({
      name: 'gateway_uplink_backlog_bytes',
      help: 'Outbox size counted against its disk budget (bytes)',
      registers: [registry],
    }),
    uplinkOldestPendingSeconds: new Gauge({
      name: 'gateway_uplink_oldest_pending_seconds',
      help: 'Age of the oldest outbox message not yet acknowledged, per lane (0 when empty)',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    uplinkInflight: new Gauge({
      name: 'gateway_uplink_inflight',
      help: 'Messages published to the city broker and waiting for PUBACK',
      registers: [registry],
    }),
    uplinkAcked: new Counter({
      name: 'gateway_uplink_acked_total',
      help: 'Messages acknowledged by the city broker and deleted from the outbox, per lane',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    uplinkDrainRate: new Gauge({
      name: 'gateway_uplink_drain_rate',
      help: 'Messages acknowledged by the city broker per second (average over the last 10 s)',
      registers: [registry],
    }),
    uplinkEvicted: new Counter({
      name: 'gateway_uplink_evicted_total',
      help: 'Telemetry messages evicted from the outbox because its disk budget was reached',
      registers: [registry],
    }),
    uplinkPublishRejected: new Counter({
      name: 'gateway_uplink_publish_rejected_total',
      help: 'Messages the city broker refused with an MQTT 5 PUBACK error (kept, retried on the next connection)',
      registers: [registry],
    }),
    uplinkCommands: new Counter({
      name: 'gateway_uplink_commands_total',
      help: 'Commands from the city platform, by result (ok, error, expired, refused)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    alarmTransitions: new Counter({
      name: 'gateway_alarm_transitions_total',
      help: 'Alarm transitions reported (alarm.raised, alarm.cleared, alarm.escalated, ...), by type and rule',
      labelNames: ['type', 'rule'] as const,
      registers: [registry],
    }),
    alarmsActive: new Gauge({
      name: 'gateway_alarms_active',
      help: 'Alarms currently active (raised or acknowledged)',
      registers: [registry],
    }),
    alarmActions: new Counter({
      name: 'gateway_alarm_actions_total',
      help: 'Linkage commands sent by alarm rules, by command and outcome (ok, failed, timeout)',
      labelNames: ['command', 'outcome'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'gateway_notifications_total',
      help: 'Alarm notifications per channel, by outcome (ok, failed after retries)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    alarmFeedClients: new Gauge({
      name: 'gateway_alarm_feed_clients',
      help: 'Console clients connected to the live alarm feed',
      registers: [registry],
    }),
    brokerDenied: new Counter({
      name: 'gateway_broker_denied_total',
      help: 'Local broker refusals: what (connection, packet, connect, publish, subscribe) and why (acl, bad-credentials, throttled, client-id-taken, packet-too-large, max-connections, max-subscriptions, max-retained-messages, slow-consumer, protocol-error, ...)',
      labelNames: ['what', 'reason'] as const,
      registers: [registry],
    }),
    loginLockouts: new Counter({
      name: 'gateway_login_lockouts_total',
      help: 'Source addresses or user names locked out after too many failed logins to the broker, the ops HTTP server or the console feed (one per lockout, not per refused attempt)',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
