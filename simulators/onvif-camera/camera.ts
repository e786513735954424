/**
 * A simulated ONVIF camera (Profile S/T) on 127.0.0.1: Device, Media, PTZ and Events services over
 * SOAP 1.2 (node:http), authenticated by WS-Security UsernameToken or HTTP Digest (RFC 7616), a
 * snapshot JPEG behind HTTP Digest, an optional RTSP stream (media.ts) and WS-Discovery
 * responder (discovery.ts), plus the faults a driver must survive (see the README).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DigestServer } from '../../drivers/http/digest.js';
import { CameraDiscovery } from './discovery.js';
import { EventBroker, type CameraEvent, MAX_PULL_WAIT_MS, notificationXml, TOPICS, topicSetXml } from './events.js';
import { FALLBACK_JPEG, RtspStream, snapshotJpeg } from './media.js';
import { ANALYTICS_CONFIG, type CameraIdentity, checkProfile, checkStreamProtocol, PATHS, type PtzPreset, readOnlyAnswer, VIDEO_SOURCE, VIDEO_SOURCE_CONFIG } from './services.js';
import { checkUsernameToken, durationMs, envelope, faultXml, notAuthorized, parseRequest, path, SoapError, type SoapRequest, terminationAt, text } from './soap.js';

export interface OnvifCameraOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  username: string;
  password: string;
  /** The camera's clock runs this far from the machine's (e.g. 7_200_000: two hours ahead). */
  clockOffsetMs?: number;
  /** Largest accepted distance between a UsernameToken's Created and the camera's clock (default 5 min). */
  maxSkewMs?: number;
  identity?: Partial<CameraIdentity>;
  presets?: PtzPreset[];
  /** Run the RTSP server (gst-rtsp-server) + ffmpeg on `host` (default false: GetStreamUri then names `streamUri`). */
  stream?: boolean;
  /** What GetStreamUri answers when `stream` is off. */
  streamUri?: string;
  /** Answer WS-Discovery probes on this UDP port (3702 is the standard one); off by default. */
  discoveryPort?: number;
  /** Where the discovery socket binds (default all addresses, so multicast probes arrive; 127.0.0.1: unicast probes from this machine only). */
  discoveryAddress?: string;
  /** How long a reboot keeps the camera silent (default 3 s). */
  rebootMs?: number;
  log?: (line: string) => void;
}

export type Malformation = 'not-xml' | 'truncated';

const SOAP = 'application/soap+xml; charset=utf-8';
const MAX_BODY = 1 << 20;
const DEFAULT_PRESETS: PtzPreset[] = [
  { token: '1', name: 'Gate', pan: -0.5, tilt: 0.1, zoom: 0 },
  { token: '2', name: 'Yard', pan: 0.4, tilt: -0.2, zoom: 0.5 },
];

export class OnvifCameraSimulator {
  readonly identity: CameraIdentity;
  readonly presets: PtzPreset[];
  /** Token of the preset the camera went to last (GotoPreset), for tests. */
  currentPreset?: string;
  /** Operations answered, in order (auth failures and injected faults included), for tests. */
  readonly calls: string[] = [];
  readonly state = { motion: false, tamper: false, videoLoss: false };
  private password: string;
  private clockOffsetMs: number;
  private server?: Server;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly broker: EventBroker;
  private readonly digest: DigestServer;
  private readonly seenNonces = new Map<string, number>();
  private stream?: RtspStream;
  private discovery?: CameraDiscovery;
  private jpeg: Buffer = FALLBACK_JPEG;
  private faults: { left: number; subcode: string } = { left: 0, subcode: 'ter:Action' };
  private malformed: { left: number; kind: Malformation } = { left: 0, kind: 'not-xml' };
  private hanging = false;
  private rebooting?: Promise<void>;

  constructor(private readonly o: OnvifCameraOptions) {
    this.password = o.password;
    this.clockOffsetMs = o.clockOffsetMs ?? 0;
    this.identity = {
      manufacturer: 'SimVision', model: 'SV-IPC-T1', firmwareVersion: 'V5.7.3 build 260101', serialNumber: 'SV0001',
      hardwareId: 'SV-IPC-T1', name: 'Sim Camera', location: 'compound', ...o.identity,
    };
    this.presets = o.presets ?? DEFAULT_PRESETS;
    this.broker = new EventBroker(() => this.now());
    this.digest = new DigestServer({ realm: 'ONVIF camera', password: (u) => (u === o.username ? this.password : undefined) });
  }

  /** The camera's clock, ms. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  get url(): string {
    return `http://${this.o.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** The device service address (what WS-Discovery gives as XAddrs). */
  get deviceUrl(): string {
    return this.url + PATHS.device;
  }

  get streamUri(): string {
    return this.stream?.uri ?? this.o.streamUri ?? `rtsp://${this.o.host ?? '127.0.0.1'}:554/stream1`;
  }

  get rtsp(): RtspStream | undefined {
    return this.stream;
  }

  get discoveryPort(): number | undefined {
    return this.discovery?.port;
  }

  /** Live pull-point subscriptions. */
  subscriptions(): number[] {
    return this.broker.ids();
  }

  async start(): Promise<void> {
    await this.listen(this.o.port ?? 0);
    this.jpeg = await snapshotJpeg();
    if (this.o.stream) {
      this.stream = new RtspStream({ host: this.o.host, log: this.o.log });
      await this.stream.start();
    }
    if (this.o.discoveryPort !== undefined) {
      this.discovery = new CameraDiscovery({ port: this.o.discoveryPort, address: this.o.discoveryAddress, identity: this.identity, xaddr: () => this.deviceUrl, log: this.o.log });
      await this.discovery.start();
    }
  }

  async close(): Promise<void> {
    this.broker.clear();
    await this.discovery?.close();
    await this.stream?.stop();
    await this.stopListening();
  }

  // ---- injectables ----------------------------------------------------------------------------

  /** Motion starts / stops: tns1:VideoSource/MotionAlarm and tns1:RuleEngine/CellMotionDetector/Motion. */
  setMotion(on: boolean): void {
    this.state.motion = on;
    this.raise('tns1:VideoSource/MotionAlarm', 'Changed', { State: String(on) });
    this.raise('tns1:RuleEngine/CellMotionDetector/Motion', 'Changed', { IsMotion: String(on) });
  }

  /** Tampering (the view covered, turned away): tns1:VideoSource/GlobalSceneChange/ImagingService. */
  setTamper(on: boolean): void {
    this.state.tamper = on;
    this.raise('tns1:VideoSource/GlobalSceneChange/ImagingService', 'Changed', { State: String(on) });
  }

  /** The sensor's signal lost / back: tns1:VideoSource/SignalLoss. */
  setVideoLoss(on: boolean): void {
    this.state.videoLoss = on;
    this.raise('tns1:VideoSource/SignalLoss', 'Changed', { State: String(on) });
  }

  /** An object crossed the line rule: tns1:RuleEngine/LineDetector/Crossed (a pulse, no property). */
  crossLine(objectId = 1): void {
    this.raise('tns1:RuleEngine/LineDetector/Crossed', undefined, { ObjectId: String(objectId) });
  }

  /** The camera reboots: every subscription is lost, nothing answers for `ms`; resolves when it answers again. */
  reboot(ms = this.o.rebootMs ?? 3000): Promise<void> {
    this.rebooting ??= (async () => {
      this.broker.clear();
      this.state.motion = this.state.tamper = this.state.videoLoss = false;
      await this.stopListening();
      await new Promise((r) => setTimeout(r, ms));
      await this.listen(this.port);
      this.rebooting = undefined;
    })();
    return this.rebooting;
  }

  /** The next `count` SOAP answers are not XML, or a well-formed answer cut in half. */
  malformNext(count: number, kind: Malformation = 'not-xml'): void {
    this.malformed = { left: count, kind };
  }

  /** The next `count` SOAP calls get a Receiver fault with this subcode. */
  faultNext(count: number, subcode = 'ter:Action'): void {
    this.faults = { left: count, subcode };
  }

  /** While on, requests are accepted and never answered. */
  setHanging(on: boolean): void {
    this.hanging = on;
  }

  /** The camera's own password changes (the client's is then wrong). */
  setPassword(password: string): void {
    this.password = password;
  }

  setClockOffset(ms: number): void {
    this.clockOffsetMs = ms;
  }

  // ---- serving --------------------------------------------------------------------------------

  private raise(topic: string, operation: CameraEvent['operation'], data: Record<string, string>): void {
    this.broker.publish({ topic, operation, source: this.sourceOf(topic), data, utcTime: this.now() });
  }

  private sourceOf(topic: string): Record<string, string> {
    const def = TOPICS.find((t) => t.topic === topic)!;
    return 'Rule' in def.source
      ? { VideoSourceConfigurationToken: VIDEO_SOURCE_CONFIG, VideoAnalyticsConfigurationToken: ANALYTICS_CONFIG, Rule: topic.includes('Line') ? 'MyLineDetectorRule' : 'MyMotionDetectorRule' }
      : { Source: VIDEO_SOURCE };
  }

  /** The current state of each property topic, sent to a new subscription (PropertyOperation Initialized). */
  private initialMessages(): CameraEvent[] {
    const utcTime = this.now();
    const s = this.state;
    const init = (topic: string, data: Record<string, string>): CameraEvent => ({ topic, operation: 'Initialized', source: this.sourceOf(topic), data, utcTime });
    return [
      init('tns1:VideoSource/MotionAlarm', { State: String(s.motion) }),
      init('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: String(s.motion) }),
      init('tns1:VideoSource/GlobalSceneChange/ImagingService', { State: String(s.tamper) }),
      init('tns1:VideoSource/SignalLoss', { State: String(s.videoLoss) }),
    ];
  }

  private async listen(port: number): Promise<void> {
    const srv = createServer((req, res) => void this.onRequest(req, res).catch((e: Error) => this.o.log?.(`onvif camera: ${e.message}`)));
    srv.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.server = srv;
    this.port = (srv.address() as AddressInfo).port;
  }

  private async stopListening(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    const closed = new Promise<void>((r) => srv.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.hanging) return; // accepted, never answered (the socket goes on close)
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) return void res.writeHead(413).end();
      chunks.push(c);
    }
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.split('?')[0] === PATHS.snapshot) return this.snapshot(req, res);
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    let soap: SoapRequest | undefined;
    try {
      soap = parseRequest(Buffer.concat(chunks).toString('utf8'));
      this.calls.push(soap.action);
      if (this.faults.left > 0) {
        this.faults.left--;
        throw new SoapError('env:Receiver', [this.faults.subcode], 'injected fault');
      }
      if (soap.action !== 'GetSystemDateAndTime') this.authenticate(req, soap);
      this.reply(res, 200, await this.answer(url, soap, aborted.signal));
    } catch (e) {
      if (!(e instanceof SoapError)) throw e;
      const headers: Record<string, string | string[]> = {};
      if (e.httpStatus === 401) headers['www-authenticate'] = this.digest.challenges();
      this.reply(res, e.httpStatus, faultXml(e), headers);
    }
  }

  private reply(res: ServerResponse, status: number, xml: string, headers: Record<string, string | string[]> = {}): void {
    if (res.destroyed) return;
    if (this.malformed.left > 0) {
      this.malformed.left--;
      xml = this.malformed.kind === 'truncated' ? xml.slice(0, Math.floor(xml.length / 2)) : 'Internal Server Error: service restarting\n';
    }
    // Content-Length (so spelled), not chunked, as embedded cameras answer: libonvif finds the body by that exact header
    res.writeHead(status, { 'Content-Type': SOAP, 'Content-Length': Buffer.byteLength(xml), ...headers }).end(xml);
  }

  /** WS-Security UsernameToken when the request carries one (a bad one: 400), else HTTP Digest (401 challenges). */
  private authenticate(req: IncomingMessage, soap: SoapRequest): void {
    const c = { username: this.o.username, password: this.password, now: this.now(), maxSkewMs: this.o.maxSkewMs ?? 300_000, seenNonces: this.seenNonces };
    if (this.seenNonces.size > 10_000) this.seenNonces.clear();
    if (checkUsernameToken(soap.header, c) !== undefined) return;
    const d = this.digest.check('POST', req.url ?? '/', req.headers.authorization);
    if (d.ok) return;
    const e = notAuthorized(req.headers.authorization ? `HTTP Digest: ${d.detail}` : 'no WS-Security UsernameToken and no HTTP Digest credentials');
    throw new SoapError(e.code, e.subcodes, e.message, 401);
  }

  private async snapshot(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const d = this.digest.check('GET', req.url ?? '/', req.headers.authorization);
    if (!d.ok) return void res.writeHead(401, { 'www-authenticate': this.digest.challenges(d.reason === 'stale') }).end();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': this.jpeg.length }).end(this.jpeg);
  }

  private async answer(url: string, soap: SoapRequest, aborted: AbortSignal): Promise<string> {
    const { action, body } = soap;
    const ctx = { id: this.identity, base: this.url, now: this.now(), streamUri: this.streamUri, presets: this.presets, currentPreset: this.currentPreset };
    const token = text(path(body, 'ProfileToken'));
    if (['GetProfile', 'GetStreamUri', 'GetSnapshotUri', 'GetPresets', 'GetStatus', 'GotoPreset'].includes(action)) checkProfile(token);
    if (action === 'GetStreamUri') checkStreamProtocol(text(path(body, 'StreamSetup', 'Transport', 'Protocol')));
    const plain = readOnlyAnswer(action, ctx);
    if (plain !== undefined) return envelope(plain);
    const sub = url.startsWith(PATHS.subscription) ? Number(url.slice(PATHS.subscription.length)) : undefined;
    const subAddress = (id: number) => `${this.url}${PATHS.subscription}${id}`;
    const times = (id: number) =>
      `<wsnt:CurrentTime>${new Date(this.now()).toISOString()}</wsnt:CurrentTime><wsnt:TerminationTime>${new Date(this.broker.expiresAt(id)).toISOString()}</wsnt:TerminationTime>`;
    switch (action) {
      case 'GotoPreset': {
        const preset = text(path(body, 'PresetToken'));
        if (!this.presets.some((p) => p.token === preset)) {
          throw new SoapError('env:Sender', ['ter:InvalidArgVal', 'ter:NoToken'], `no preset "${preset ?? ''}"; presets: ${this.presets.map((p) => p.token).join(', ')}`);
        }
        this.currentPreset = preset;
        return envelope('<tptz:GotoPresetResponse/>');
      }
      case 'SystemReboot':
        setImmediate(() => void this.reboot());
        return envelope('<tds:SystemRebootResponse><tds:Message>Rebooting in a moment</tds:Message></tds:SystemRebootResponse>');
      case 'GetEventProperties':
        return envelope(
          `<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>` +
            `<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>${topicSetXml()}` +
            `<wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>` +
            `<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>` +
            `<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation></tev:GetEventPropertiesResponse>`,
        );
      case 'CreatePullPointSubscription': {
        const id = this.broker.create(terminationAt(text(path(body, 'InitialTerminationTime')), this.now(), 60_000), this.initialMessages());
        return envelope(
          `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${subAddress(id)}</wsa:Address></tev:SubscriptionReference>` +
            `${times(id)}</tev:CreatePullPointSubscriptionResponse>`,
        );
      }
    }
    if (sub === undefined || !Number.isInteger(sub)) {
      throw new SoapError('env:Receiver', ['ter:ActionNotSupported'], `${action} is not supported here (subscription calls go to the address CreatePullPointSubscription gave)`);
    }
    switch (action) {
      case 'PullMessages': {
        const wait = durationMs(text(path(body, 'Timeout')) ?? 'PT0S');
        const limit = Number(text(path(body, 'MessageLimit')) ?? 1);
        if (wait === undefined || !Number.isInteger(limit) || limit < 1) {
          throw new SoapError('env:Sender', ['ter:InvalidArgVal'], `PullMessages needs Timeout as xs:duration (≤ PT${MAX_PULL_WAIT_MS / 1000}S) and MessageLimit ≥ 1`);
        }
        const msgs = await this.broker.pull(sub, wait, limit, aborted);
        return envelope(`<tev:PullMessagesResponse>${times(sub)}${msgs.map((m) => notificationXml(m, subAddress(sub))).join('')}</tev:PullMessagesResponse>`);
      }
      case 'Renew':
        this.broker.renew(sub, terminationAt(text(path(body, 'TerminationTime')), this.now(), 60_000));
        return envelope(
          `<wsnt:RenewResponse><wsnt:TerminationTime>${new Date(this.broker.expiresAt(sub)).toISOString()}</wsnt:TerminationTime>` +
            `<wsnt:CurrentTime>${new Date(this.now()).toISOString()}</wsnt:CurrentTime></wsnt:RenewResponse>`,
        );
      case 'Unsubscribe':
        this.broker.unsubscribe(sub);
        return envelope('<wsnt:UnsubscribeResponse/>');
      default:
        throw new SoapError('env:Receiver', ['ter:ActionNotSupported'], `${action} is not supported by this camera`);
    }
  }
}
