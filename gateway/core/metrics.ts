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
    journalLastSeq: new Gauge({
      name: 'gateway_journal_last_seq',
      help: 'Sequence number of the last committed event',
      registers: [registry],
    }),
    journalCommitSeconds: new Histogram({
      name: 'gateway_journal_commit_seconds',
      help: 'Duration of one group commit',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    journalLagSeconds: new Histogram({
      name: 'gateway_journal_lag_seconds',
      help: 'Time from the device message reaching the gateway to its event being committed',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    brokerDenied: new Counter({
      name: 'gateway_broker_denied_total',
      help: 'Local broker publishes, subscriptions and logins refused',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
