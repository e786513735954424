/**
 * The city platform's side of the reliability runs: a compact recorder of the events a gateway
 * forwards (MQTT 5, persistent session, so it also gets what was forwarded while it was
 * reconnecting), and the check of what it received against the gateway's journal.
 *
 * Memory per event: a counter and a 32-bit hash of the event id, indexed by `seq`, so an hour
 * of soak fits in a few MB.
 */
import Database from 'better-sqlite3';
import { connect, type MqttClient } from 'mqtt';

/** FNV-1a, 32 bit: enough to tell two event ids apart for the same seq. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class CityRecorder {
  private counts = new Uint16Array(1 << 16);
  private hashes = new Uint32Array(1 << 16);
  /** Event messages received (duplicates included). */
  messages = 0;
  /** Messages flagged `historical` (replayed after a reconnect). */
  historical = 0;
  /** The same seq received with another event id: must stay 0. */
  idMismatches = 0;
  /** Event payloads that were not JSON with a numeric seq and a string id: must stay 0. */
  malformed = 0;
  maxSeq = 0;
  /** `session` of every retained `online` status seen (one per uplink connection). */
  readonly onlineSessions: number[] = [];
  /** Connections of the recorder itself (1 + its reconnects after broker restarts). */
  connects = 0;
  private client?: MqttClient;

  constructor(
    readonly url: string,
    readonly root: string,
    readonly clientId = 'city-recorder',
  ) {}

  async start(): Promise<void> {
    const client = connect(this.url, {
      protocolVersion: 5,
      clientId: this.clientId,
      clean: false,
      properties: { sessionExpiryInterval: 24 * 3600 },
      reconnectPeriod: 100,
    });
    this.client = client;
    client.on('error', () => {});
    client.on('connect', () => {
      this.connects += 1;
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () =>
        client.subscribe(`${this.root}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === `${this.root}/status`) {
      try {
        const s = JSON.parse(payload.toString()) as { status?: string; session?: number };
        if (s.status === 'online' && typeof s.session === 'number') this.onlineSessions.push(s.session);
      } catch {
        // not ours to judge here
      }
      return;
    }
    if (!topic.startsWith(`${this.root}/events/`)) return;
    this.messages += 1;
    let e: { seq?: unknown; id?: unknown; historical?: unknown };
    try {
      e = JSON.parse(payload.toString()) as typeof e;
    } catch {
      this.malformed += 1;
      return;
    }
    if (typeof e.seq !== 'number' || !Number.isInteger(e.seq) || e.seq < 1 || typeof e.id !== 'string') {
      this.malformed += 1;
      return;
    }
    if (e.historical === true) this.historical += 1;
    this.grow(e.seq);
    const h = idHash(e.id);
    if (this.counts[e.seq]! === 0) this.hashes[e.seq] = h;
    else if (this.hashes[e.seq] !== h) this.idMismatches += 1;
    if (this.counts[e.seq]! < 0xffff) this.counts[e.seq]! += 1;
    if (e.seq > this.maxSeq) this.maxSeq = e.seq;
  }

  private grow(seq: number): void {
    if (seq < this.counts.length) return;
    let n = this.counts.length;
    while (n <= seq) n *= 2;
    const c = new Uint16Array(n);
    c.set(this.counts);
    const h = new Uint32Array(n);
    h.set(this.hashes);
    this.counts = c;
    this.hashes = h;
  }

  /** Times `seq` was received (0: never). */
  count(seq: number): number {
    return seq < this.counts.length ? this.counts[seq]! : 0;
  }

  hashOf(seq: number): number | undefined {
    return this.count(seq) ? this.hashes[seq] : undefined;
  }

  /** True when every seq from 1 to `last` has arrived. */
  hasAll(last: number): boolean {
    for (let s = 1; s <= last; s++) if (!this.count(s)) return false;
    return true;
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

export interface DeliveryCheck {
  /** Events in the journal (committed). */
  journaled: number;
  journalLastSeq: number;
  /** Missing numbers in the journal's 1..lastSeq: must be 0. */
  journalSeqGaps: number;
  /** Journaled events never received by the city broker: must be 0. */
  lost: number;
  /** Messages received more than once (the same event id each time). */
  duplicates: number;
  /** Received with a seq whose journal event has another id: must be 0. */
  idMismatches: number;
  /** Received seqs the journal does not have: must be 0. */
  unknownAtCity: number;
  /** Rows still waiting in the outbox. */
  outboxPending: number;
  /** Event ids seen on the local bus (published only after commit) missing from the journal: must be 0. */
  seenNotJournaled: number;
  /** Alarm lifecycle events in the journal (`alarm.raised`). */
  alarmsRaised: number;
  historical: number;
  messagesAtCity: number;
}

/** Compares the journal at `dbPath` (read-only) with what `city` received. */
export function checkDelivery(dbPath: string, city: CityRecorder, seenLocally?: Set<string>): DeliveryCheck {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    let journaled = 0;
    let gaps = 0;
    let lost = 0;
    let mismatches = city.idMismatches;
    let expected = 1;
    let alarmsRaised = 0;
    const ids = seenLocally ? new Set<string>() : undefined;
    const rows = db.prepare('SELECT seq, id, type FROM events ORDER BY seq').iterate() as Iterable<{
      seq: number;
      id: string;
      type: string;
    }>;
    for (const r of rows) {
      journaled += 1;
      if (r.seq > expected) gaps += r.seq - expected;
      expected = r.seq + 1;
      if (r.type === 'alarm.raised') alarmsRaised += 1;
      ids?.add(r.id);
      const h = city.hashOf(r.seq);
      if (h === undefined) lost += 1;
      else if (h !== idHash(r.id)) mismatches += 1;
    }
    const lastSeq = expected - 1;
    let duplicates = 0;
    let unknown = 0;
    for (let s = 1; s <= Math.max(city.maxSeq, lastSeq); s++) {
      const c = city.count(s);
      if (c > 1) duplicates += c - 1;
      if (c && s > lastSeq) unknown += 1;
    }
    const outboxPending = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    let seenNotJournaled = 0;
    if (seenLocally && ids) for (const id of seenLocally) if (!ids.has(id)) seenNotJournaled += 1;
    return {
      journaled,
      journalLastSeq: lastSeq,
      journalSeqGaps: gaps,
      lost,
      duplicates,
      idMismatches: mismatches,
      unknownAtCity: unknown,
      outboxPending,
      seenNotJournaled,
      alarmsRaised,
      historical: city.historical,
      messagesAtCity: city.messages,
    };
  } finally {
    db.close();
  }
}

/** The broken invariants of a check, as sentences (empty: all held). */
export function deliveryFailures(c: DeliveryCheck, malformed = 0): string[] {
  const f: string[] = [];
  if (c.journaled === 0) f.push('no event was journaled: the load did not run');
  if (c.lost) f.push(`${c.lost} journaled event(s) never reached the city broker`);
  if (c.journalSeqGaps) f.push(`${c.journalSeqGaps} missing seq number(s) in the journal`);
  if (c.idMismatches) f.push(`${c.idMismatches} seq number(s) received with another event id`);
  if (c.unknownAtCity) f.push(`${c.unknownAtCity} seq number(s) received that the journal does not have`);
  if (c.seenNotJournaled)
    f.push(`${c.seenNotJournaled} event(s) published on the local bus but missing from the journal`);
  if (c.outboxPending) f.push(`${c.outboxPending} outbox row(s) still pending at the end`);
  if (malformed) f.push(`${malformed} malformed event payload(s) at the city broker`);
  return f;
}
