/**
 * Drains the outbox to the city broker while connected: at most `window` rows unacknowledged
 * (the configured in-flight window, capped by the broker's Receive Maximum, MQTT 5 §3.2.2.3.3),
 * alarms lane first, then events, then telemetry, FIFO within a lane. A row is deleted only on
 * its PUBACK (deletes group-committed); an error PUBACK keeps it for the next connection. After
 * a reconnect everything unacknowledged is pending again and goes out with `historical: true`
 * (as does an event the device itself reported late). A row of several readings is deleted when
 * its last is acknowledged (PUBACKs come in the order of the PUBLISHes, MQTT 3.1.1 §4.6, MQTT 5
 * §4.6); if any of them was refused, the row is kept and sent again whole.
 */
import { ErrorWithReasonCode, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors.js';
import { JournalBusy } from '../journal/light-writes.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Outbox, OutboxRow } from './outbox.js';
import { LANES, TELEMETRY } from './outbox-tables.js';
import type { UplinkConfig } from './uplink-config.js';
import type { UplinkConnection } from './uplink-connection.js';

const ACK_BATCH = 2000;
/** How an envelope carrying `historical: true` ends (stampEvent writes it as the last key). */
const DEVICE_HISTORICAL = ',"historical":true}';
const ACK_DELAY_MS = 20;

export interface OutboxDrainOptions {
  outbox: Outbox;
  connection: UplinkConnection;
  config: UplinkConfig['outbox'];
  metrics: Metrics;
  log: Logger;
  /** Tests: observe publishes and acknowledgements. */
  trace?: (what: 'publish' | 'ack', row: OutboxRow, historical: boolean) => void;
}

export class OutboxDrain {
  private readonly inflightRows = new Set<OutboxRow>();
  /** Per lane: the last message fetched (its row, and its seq while its row has more to send). */
  private cursors = [0, 0, 0];
  private cursorSeqs = [0, 0, 0];
  /** Rows with a message refused on this connection: kept whole for the next. */
  private readonly refusedRows = new Set<number>();
  /** Per lane: rows may exist after the cursor (set by new rows, cleared by a short read). */
  private maybeMore = [true, true, true];
  private watermark = 0;
  private currentWindow: number;
  private acked: OutboxRow[] = [];
  private ackScheduled = false;
  private ackTimer?: NodeJS.Timeout;
  private pumpScheduled = false;
  private ackedCount = 0;

  constructor(private readonly o: OutboxDrainOptions) {
    this.currentWindow = o.config.inflightWindow;
  }

  /** Rows published and not yet acknowledged. */
  get inflight(): number {
    return this.inflightRows.size;
  }

  get window(): number {
    return this.currentWindow;
  }

  /** Rows acknowledged (and deleted) since the start. */
  get ackedTotal(): number {
    return this.ackedCount;
  }

  /** New rows in a lane (journal transaction hook). */
  rowsAdded(lane: number): void {
    this.maybeMore[lane] = true;
  }

  /** A new connection: window from its Receive Maximum; every unacknowledged row is historical. */
  restart(receiveMaximum: number | undefined): void {
    this.currentWindow = Math.max(1, Math.min(this.o.config.inflightWindow, receiveMaximum ?? 65535));
    // Everything not acknowledged so far is pending again, oldest first; it is all "historical".
    this.flushAcks(true);
    this.inflightRows.clear();
    this.refusedRows.clear();
    this.cursors = [0, 0, 0];
    this.cursorSeqs = [0, 0, 0];
    this.maybeMore = [true, true, true];
    this.watermark = this.o.outbox.lastId();
  }

  /** The connection is gone: acknowledged rows are deleted, the in-flight ones are pending again. */
  stop(): void {
    this.flushAcks(true);
    this.inflightRows.clear();
    this.refusedRows.clear();
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.o.connection.state !== 'connected') return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Fills the in-flight window: alarms lane first, then events, then telemetry; FIFO in each. */
  pump(): void {
    const conn = this.o.connection;
    const client = conn.client;
    if (!client || conn.state !== 'connected' || conn.closing) return;
    const gen = conn.gen;
    try {
      while (this.inflightRows.size < this.currentWindow) {
        const room = this.currentWindow - this.inflightRows.size;
        let rows: OutboxRow[] = [];
        for (let lane = 0; lane < LANES.length && !rows.length; lane++) {
          if (!this.maybeMore[lane]) continue;
          rows = this.o.outbox.fetch(lane, this.cursors[lane]!, room, this.cursorSeqs[lane]);
          if (rows.length < room) this.maybeMore[lane] = false;
        }
        if (!rows.length) break;
        for (const row of rows) this.publishRow(client, gen, row);
      }
    } catch (err) {
      this.o.log.error({ err: errorMessage(err) }, 'outbox read failed; retrying');
      setTimeout(() => this.schedulePump(), 1000).unref();
    }
    this.o.metrics.uplinkInflight.set(this.inflightRows.size);
  }

  private publishRow(client: MqttClient, gen: number, row: OutboxRow): void {
    this.cursors[row.lane] = row.id;
    this.cursorSeqs[row.lane] = row.settles ? 0 : row.seq;
    // Late for either reason: replayed (stored before this connection), or reported late by the
    // device (the envelope's own flag, its last key). The stored JSON always ends with `}`: the
    // replay flag is appended without re-serialising, once.
    const deviceLate = row.payload.endsWith(DEVICE_HISTORICAL);
    const replayed = row.id <= this.watermark;
    const historical = replayed || deviceLate;
    const payload = replayed && !deviceLate ? `${row.payload.slice(0, -1)}${DEVICE_HISTORICAL}` : row.payload;
    const opts: IClientPublishOptions = { qos: 1, retain: row.retain };
    if (this.o.connection.protocol === 5) {
      const userProperties: Record<string, string> = { id: row.eventId, seq: String(row.seq) };
      if (historical) userProperties.historical = 'true';
      const expiry = this.o.config.telemetryExpiryS;
      opts.properties = {
        userProperties,
        ...(row.lane === TELEMETRY && expiry ? { messageExpiryInterval: expiry } : {}),
      };
    }
    this.inflightRows.add(row);
    this.o.trace?.('publish', row, historical);
    client.publish(row.topic, payload, opts, (err) => this.onPuback(gen, row, historical, err));
  }

  private onPuback(gen: number, row: OutboxRow, historical: boolean, err: Error | undefined): void {
    // A closed connection: the row is pending again.
    if (gen !== this.o.connection.gen || !this.inflightRows.delete(row)) return;
    if (err) {
      this.refusedRows.add(row.id);
      if (err instanceof ErrorWithReasonCode) {
        // MQTT 5 PUBACK with an error reason: the broker did not take it. Keep the row; it is
        // retried on the next connection (never dropped).
        this.o.metrics.uplinkPublishRejected.inc();
        this.o.log.error(
          {
            code: 'UPLINK_PUBLISH_REJECTED',
            reasonCode: err.code,
            err: err.message,
            topic: row.topic,
            id: row.eventId,
          },
          'city broker refused a message; kept for the next connection',
        );
      } else if (this.o.connection.state === 'connected') {
        this.o.log.warn(
          { code: 'UPLINK_PUBLISH_FAILED', err: err.message, topic: row.topic, id: row.eventId },
          'publish failed; kept for the next connection',
        );
      }
      return;
    }
    this.o.trace?.('ack', row, historical);
    // A row with a refused message is kept whole for the next connection.
    if (!this.refusedRows.has(row.id)) this.acked.push(row);
    // Deletes are group-committed (one transaction per ACK_BATCH rows or ACK_DELAY_MS). A crash
    // or a power cut before the commit only re-sends (same ids).
    if (this.acked.length >= ACK_BATCH) this.flushAcks();
    else this.scheduleAcks();
    this.schedulePump();
  }

  private scheduleAcks(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
  }

  /** `waitForLock`: when the connection ends (rare); while draining, a commit that finds one of the journal's threads holding the lock goes later. */
  private flushAcks(waitForLock = false): void {
    this.ackScheduled = false;
    clearTimeout(this.ackTimer);
    if (!this.acked.length) return;
    const rows = this.acked;
    this.acked = [];
    try {
      this.o.outbox.ack(rows, { waitForLock });
    } catch (err) {
      if (err instanceof JournalBusy) {
        this.acked = rows; // nothing was deleted: with the next commit
        return this.scheduleAcks();
      }
      // The rows stay in the outbox and are published again later (same ids: the platform dedupes).
      this.o.log.error({ err: errorMessage(err), rows: rows.length }, 'outbox delete failed');
      return;
    }
    const perLane = [0, 0, 0];
    for (const r of rows) perLane[r.lane]! += 1;
    perLane.forEach((n, lane) => {
      if (n) this.o.metrics.uplinkAcked.inc({ lane: LANES[lane] }, n);
    });
    this.ackedCount += rows.length;
  }
}
