/**
 * One camera's ONVIF connection, with the npm `onvif` package: connect (GetSystemDateAndTime
 * first, so WS-Security UsernameTokens carry the camera's clock; HTTP Digest when the camera asks
 * for it), the requests of the driver, and the PullPoint event loop.
 *
 * Every connection has its own HTTP agent: dropping it (any failure) destroys its sockets, which
 * ends a PullMessages in progress at once, and the next use connects again with a fresh `Cam` — so
 * the camera's clock offset is measured again after a reboot or a clock change (the package
 * measures it only once per `Cam`).
 *
 * The event loop is ours, not the package's `cam.on('event')`: CreatePullPointSubscription, then
 * PullMessages and Renew in turn (each pull returns within a minute, the subscription lasts two),
 * and on any failure (a SOAP fault, the camera rebooted and forgot the subscription, a timeout)
 * the connection is dropped and a new connection and subscription follow with backoff. It stops
 * at once (Unsubscribe, then the agent destroyed), where the package's loop would keep a pull
 * pending for up to a minute after its last listener is removed.
 */
import { Agent } from 'node:http';
import { Cam } from 'onvif';
import { type DriverContext, errorMessage } from '../../gateway/devices/driver-api.js';
import type { CameraDevice } from './schema.js';
import { type Notification, readNotification, type TopicMapping } from './topics.js';

type Callback = (err: Error | null, data?: unknown) => void;

interface Session {
  cam: Cam;
  agent: Agent;
  /** Why it was dropped. */
  dropped?: string;
}

export interface CameraLinkOptions {
  device: CameraDevice;
  username: string;
  password: string;
  timeoutMs: number;
  table: ReadonlyMap<string, TopicMapping>;
  clock: DriverContext['clock'];
  /** Retry delays of the event loop after a failure. */
  backoff: { initialMs: number; maxMs: number };
  onNotification(n: Notification): void;
  onInvalid(reason: string, raw: unknown): void;
  /** The camera answered (a pull, a renewal). */
  onHeard(): void;
  onDebug(msg: string, err?: string): void;
}

export class CameraLink {
  private session?: Session;
  private connecting?: Promise<Session>;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private timer?: ReturnType<DriverContext['clock']['after']>;
  /** The agent of a connection being made: stopping ends it too (a camera that never answers). */
  private connectingAgent?: Agent;

  constructor(private readonly o: CameraLinkOptions) {}

  /** Calls one method of the package's `Cam` (connecting first if needed); a failure drops the connection. */
  async call<T>(fn: (cam: Cam, cb: Callback) => void): Promise<T> {
    const s = await this.connected();
    try {
      return await new Promise<T>((resolve, reject) => fn(s.cam, (err, data) => (err ? reject(err) : resolve(data as T))));
    } catch (err) {
      // A request ended by another's failure (the connection dropped under it) reports that failure.
      const why = s.dropped ?? describeError(err, this.o.timeoutMs);
      this.drop(s, why);
      throw new Error(why, { cause: err });
    }
  }

  /** Starts the PullPoint event loop. */
  startEvents(): void {
    this.stopped = false;
    this.loop ??= this.eventLoop().finally(() => (this.loop = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.wake?.();
    const s = this.session;
    if (s?.cam.events?.subscription) {
      // Cameras have few subscription slots: give ours back, without waiting long for it.
      await Promise.race([
        new Promise<void>((resolve) => s.cam.unsubscribe(() => resolve(), true)),
        new Promise<void>((resolve) => setTimeout(resolve, Math.min(this.o.timeoutMs, 1000)).unref()),
      ]);
    }
    if (s) this.drop(s, 'stopped');
    this.connectingAgent?.destroy();
    await this.loop;
  }

  private connected(): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Session> {
    const { device: d, username, password, timeoutMs } = this.o;
    const agent = new Agent({ keepAlive: false });
    this.connectingAgent = agent;
    const cam = new Cam({ hostname: d.host, port: d.port, path: d.path, username, password, timeout: timeoutMs, agent, autoconnect: false });
    cam.on('warning', (w: unknown) => this.o.onDebug('camera warning', String(w)));
    try {
      await new Promise<void>((resolve, reject) => cam.connect((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      agent.destroy();
      throw new Error(this.stopped ? 'stopped' : describeError(err, timeoutMs), { cause: err });
    } finally {
      this.connectingAgent = undefined;
    }
    if (this.stopped) {
      agent.destroy();
      throw new Error('stopped');
    }
    this.session = { cam, agent };
    return this.session;
  }

  /** Forgets the connection and ends its requests in progress (they fail). */
  private drop(s: Session, why: string): void {
    if (this.session === s) this.session = undefined;
    s.dropped ??= why;
    s.agent.destroy();
  }

  private async eventLoop(): Promise<void> {
    let delay = 0;
    /** The subscription of a dropped connection: given back before a new one is made. */
    let orphan: unknown;
    while (!this.stopped) {
      if (delay > 0) await this.sleep(delay);
      if (this.stopped) return;
      try {
        if (orphan) await this.release(orphan);
        orphan = undefined;
        await this.call((cam, cb) => cam.createPullPointSubscription(cb));
        const s = this.session;
        const sub = s?.cam.events?.subscription as { subscriptionReference?: { address?: { agent?: Agent } } } | undefined;
        const address = sub?.subscriptionReference?.address;
        if (!s || !address) throw new Error('CreatePullPointSubscription gave no subscription address');
        // Subscription requests go to the subscription's own address, which the package requests
        // without the connection's agent: give it ours, so that dropping the connection ends them.
        address.agent = s.agent;
        orphan = sub;
        delay = 0;
        while (!this.stopped && this.session === s) {
          const res = await this.call<{ notificationMessage?: unknown }>((cam, cb) => cam.pullMessages({ messageLimit: 20 }, cb));
          this.o.onHeard();
          const list = res?.notificationMessage;
          for (const raw of Array.isArray(list) ? list : list === undefined ? [] : [list]) this.notification(raw);
          if (this.stopped) return;
          await this.call((cam, cb) => cam.renew({}, cb));
        }
      } catch (err) {
        if (this.stopped) return;
        this.o.onDebug('event subscription lost; subscribing again', errorMessage(err));
        delay = Math.min(this.o.backoff.maxMs, delay === 0 ? this.o.backoff.initialMs : delay * 2);
      }
    }
  }

  /**
   * Unsubscribes a subscription of a dropped connection (cameras have few subscription slots);
   * its failure (a camera that rebooted no longer knows it) does not matter.
   */
  private async release(sub: unknown): Promise<void> {
    const s = await this.connected();
    const address = (sub as { subscriptionReference: { address: { agent?: Agent } } }).subscriptionReference.address;
    address.agent = s.agent;
    s.cam.events.subscription = sub;
    await new Promise<void>((resolve) => s.cam.unsubscribe(() => resolve(), true));
  }

  private notification(raw: unknown): void {
    const n = readNotification(raw, this.o.table);
    if (n instanceof Error) this.o.onInvalid(n.message, raw);
    else if (n) this.o.onNotification(n);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.o.clock.after(ms, resolve);
    });
  }
}

/** A failure as the duty staff and the offline reason should read it: what happened, and the usual cause. */
export function describeError(err: unknown, timeoutMs: number): string {
  const msg = errorMessage(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (/NotAuthorized|not authori[sz]ed|Digest authentication failed|Unauthori[sz]ed/i.test(msg))
    return `the camera refused the user name or password (NotAuthorized): check username and passwordFile (${msg})`;
  if (msg === 'Network timeout' || code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms (timeout)`;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): the camera is off or restarting, or host/port is wrong';
  if (code === 'ECONNRESET' || msg === 'socket hang up') return 'the camera closed the connection (ECONNRESET)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot reach the camera (${code}): check host`;
  if (/Wrong ONVIF SOAP response|Unexpected close tag|Unclosed root tag|Non-whitespace before first tag|Invalid character|Text data outside of root node|Unexpected end/i.test(msg))
    return `malformed answer, not a SOAP envelope (${msg.split('\n')[0]})`;
  if (msg.startsWith('ONVIF SOAP Fault')) return `the camera answered a SOAP fault (${msg.slice(18).trim() || 'no reason given'})`;
  return msg;
}
