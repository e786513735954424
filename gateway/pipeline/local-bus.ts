/**
 * What the gateway publishes on its local bus (the embedded broker), through a bounded window:
 * a few publishes are inside the broker at once, the rest wait in two lanes, alarms and events
 * ahead of telemetry. Telemetry gets a small share of the window, below aedes' emitter
 * concurrency, so an alarm never queues inside the broker behind telemetry. Publishing into aedes faster than it delivers queues
 * messages in its emitter without bound until the process dies, so nothing else may call the
 * broker's publish in a loop. The pipeline asks `full` before it adds telemetry to a batch.
 */
import type { DeviceState } from '../broker/device-state.js';
import type { EventEnvelope } from '../core/envelope.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Pipeline } from './pipeline.js';
import { topics } from '../core/topics.js';

export interface BusPublishOptions {
  qos: 0 | 1;
  retain: boolean;
  /** Alarms, events, status and command responses: ahead of telemetry, never refused. */
  urgent: boolean;
}

/** The broker's publish: calls back once the broker took the message (with the error if it did not). */
export type BrokerPublish = (
  topic: string,
  payload: string | Buffer,
  o: { qos: 0 | 1; retain: boolean },
  done: (err?: Error) => void,
) => void;

export interface LocalBusOptions {
  publish: BrokerPublish;
  log: Logger;
  metrics?: Metrics;
  /** Publishes handed to the broker and not yet called back, at most. */
  maxInFlight?: number;
  /** Of these, telemetry at most (aedes' emitter runs 100 at once by default and queues the rest). */
  maxTelemetryInFlight?: number;
  /** Waiting telemetry publishes at which the bus reports itself full. */
  highWater?: number;
}

interface Job {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
  urgent: boolean;
  done?: () => void;
}

/** A FIFO with O(1) push and shift. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class LocalBus {
  private readonly urgent = new Fifo<Job>();
  private readonly normal = new Fifo<Job>();
  private inFlight = 0;
  private telemetryInFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxTelemetryInFlight: number;
  private readonly highWater: number;
  private failures = 0;
  private idleWaiters: (() => void)[] = [];
  private depthReport: NodeJS.Immediate | undefined;
  private pumping = false;

  constructor(private readonly o: LocalBusOptions) {
    this.maxInFlight = o.maxInFlight ?? 256;
    this.maxTelemetryInFlight = o.maxTelemetryInFlight ?? 32;
    this.highWater = o.highWater ?? 4_000;
  }

  /** Resolves once the broker took the message (never rejects: a failure is logged and counted). */
  publish(topic: string, payload: string | Buffer, opts: BusPublishOptions): Promise<void> {
    return new Promise((done) => this.send(topic, payload, opts, done));
  }

  /** As `publish`, without a promise per message (the event path: nobody waits for it). */
  send(topic: string, payload: string | Buffer, opts: BusPublishOptions, done?: () => void): void {
    const { qos, retain, urgent } = opts;
    (urgent ? this.urgent : this.normal).push({ topic, payload, qos, retain, urgent, done });
    this.pump();
  }

  /** True while telemetry waits beyond the high-water mark: the pipeline then holds telemetry back. */
  get full(): boolean {
    return this.normal.length >= this.highWater;
  }

  get depth(): number {
    return this.urgent.length + this.normal.length + this.inFlight;
  }

  /** Resolves when nothing waits and nothing is in flight. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    // The broker may call back before its publish returns (aedes does when nothing waits on the
    // way): that publish's `finish` must not start a nested pump, this loop goes on instead.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.pumpLoop();
    } finally {
      this.pumping = false;
    }
    this.reportDepth();
  }

  private pumpLoop(): void {
    while (this.inFlight < this.maxInFlight) {
      const job =
        this.urgent.shift() ?? (this.telemetryInFlight < this.maxTelemetryInFlight ? this.normal.shift() : undefined);
      if (!job) break;
      this.inFlight++;
      if (!job.urgent) this.telemetryInFlight++;
      // The job is the options (qos, retain): no object per publish.
      this.o.publish(job.topic, job.payload, job, (err) => {
        // One line per burst of failures (e.g. while the broker closes), not one per message.
        if (err && this.failures++ === 0) this.o.log.error({ err: errorMessage(err), topic: job.topic }, 'local publish failed');
        this.finish(job);
      });
    }
  }

  /** The depth gauge, once per turn of the event loop (a labelled set per message costs more than the message's own work here). */
  private reportDepth(): void {
    if (this.depthReport || !this.o.metrics) return;
    this.depthReport = setImmediate(() => {
      this.depthReport = undefined;
      this.o.metrics?.queueDepth.set({ stage: 'local-bus' }, this.depth);
    });
  }

  private finish(job: Job): void {
    this.inFlight--;
    if (!job.urgent) this.telemetryInFlight--;
    job.done?.();
    this.pump();
    if (this.depth === 0) {
      this.failures = 0;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * Puts every event of the pipeline on the local bus as the contract says: each event on its
 * topic (telemetry QoS 0, the rest QoS 1), the availability of each device retained. The last
 * telemetry of each device is its retained state: recorded by seq in `state`
 * (broker/device-state.ts), which answers subscribers' SUBSCRIBEs from the journal, and
 * published on the state topic only while a subscription could match it. An event the device
 * reported late (historical) is published on its topic but never replaces the state: it is not
 * the device's present.
 */
export function bridgePipelineToBus(
  pipeline: Pipeline,
  bus: LocalBus,
  root: string,
  state: Pick<DeviceState, 'update'>,
): void {
  pipeline.setDownstream(() => bus.full);
  pipeline.onDelivered((env: EventEnvelope, json: string) => {
    const { family, id } = env.device;
    const telemetry = env.kind === 'telemetry';
    // One copy of the bytes for every topic the event goes to (the broker would convert each).
    const bytes = Buffer.from(json);
    bus.send(topics.event(root, family, id, env.type), bytes, {
      qos: telemetry ? 0 : 1,
      retain: false,
      urgent: !telemetry,
    });
    if (env.historical) return;
    if (telemetry && state.update(family, id, env.seq))
      bus.send(topics.state(root, family, id), bytes, { qos: 0, retain: true, urgent: false });
    if (env.type === 'device.availability')
      bus.send(topics.availability(root, id), bytes, { qos: 1, retain: true, urgent: true });
  });
}
