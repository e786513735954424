/**
 * A simulated ISAPI face-recognition access terminal on the network, speaking what the real one
 * speaks, with Digest authentication (RFC 7616):
 *
 *   GET  /ISAPI/System/deviceInfo                          DeviceInfo (XML)
 *   PUT  /ISAPI/AccessControl/RemoteControl/door/<n>       RemoteControlDoor, XML or JSON: cmd open, close,
 *                                                          alwaysOpen, alwaysClose, resume
 *   POST /ISAPI/AccessControl/AcsEvent?format=json         AcsEventCond search over its own history
 *
 * and pushing each record to its HTTP listening host (`push`): `multipart/form-data` with the
 * event notification as the `AccessControllerEvent` JSON part and a JPEG `Picture` part for face
 * events, with Digest, retried a few times; a record stays in the history whether or not the push
 * got through. Offline, it answers nothing and pushes nothing (records still happen).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { DigestClient, DigestServer } from '../../drivers/http/digest.js';
import { DOOR_CMDS, GateModel, type GateModelOptions, type SimRecord } from './gate-model.js';

export interface GateSimulatorOptions extends Omit<GateModelOptions, 'onRecord'> {
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** The account the gateway logs in with. */
  username: string;
  password: string;
  /** The HTTP listening host: where and with which account records are pushed. */
  push?: { url: string; username: string; password: string; retries?: number; retryMs?: number };
}

const XML = 'application/xml';
const status = (requestURL: string, code: number, str: string, sub: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">` +
  `<requestURL>${requestURL}</requestURL><statusCode>${code}</statusCode><statusString>${str}</statusString>` +
  `<subStatusCode>${sub}</subStatusCode></ResponseStatus>`;

const AcsEventCond = z.strictObject({
  AcsEventCond: z.looseObject({
    searchID: z.string().min(1),
    searchResultPosition: z.number().int().min(0),
    maxResults: z.number().int().min(1),
    major: z.number().int().min(0),
    minor: z.number().int().min(0),
    startTime: z.string().optional(),
    endTime: z.string().optional(),
  }),
});

/** A minimal JPEG (SOI, APP0, EOI) with random bytes inside: pictures differ. */
const picture = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(64), Buffer.from([0xff, 0xd9])]);

export class GateSimulator {
  readonly model: GateModel;
  /** Push outcomes, for tests and the control API. */
  readonly pushes = { delivered: 0, failed: 0, pending: 0 };
  private offline = false;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly digest: DigestServer;
  private readonly pushClient?: DigestClient;
  private pushQueue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: GateSimulatorOptions) {
    this.model = new GateModel({ ...o, onRecord: (r) => this.enqueuePush(r) });
    this.digest = new DigestServer({ realm: 'DS-K1T-sim', password: (u) => (u === o.username ? o.password : undefined) });
    if (o.push) this.pushClient = new DigestClient({ username: o.push.username, password: o.push.password });
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    return `http://${this.o.host ?? '127.0.0.1'}:${a?.port ?? 0}`;
  }

  setOffline(offline: boolean): void {
    this.offline = offline;
    if (offline) for (const s of this.sockets) s.destroy();
  }

  isOffline(): boolean {
    return this.offline;
  }

  /** Resolves when every record so far was pushed or given up. */
  async drained(): Promise<void> {
    for (let q = this.pushQueue; ; q = this.pushQueue) {
      await q;
      if (q === this.pushQueue) return;
    }
  }

  async start(): Promise<void> {
    const srv = createServer((req, res) => void this.onRequest(req, res));
    srv.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.o.port ?? 0, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.server = srv;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.model.close();
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    const done = new Promise<void>((r) => srv.close(() => r()));
    srv.closeAllConnections();
    await done;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.offline) return void req.socket.destroy();
    const url = req.url ?? '/';
    const auth = this.digest.check(req.method ?? 'GET', url, req.headers.authorization);
    if (!auth.ok) {
      res.writeHead(401, { 'www-authenticate': this.digest.challenges(auth.reason === 'stale'), 'content-type': XML });
      return void res.end(status(url, 4, 'Invalid Operation', 'unAuthorized'));
    }
    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 64 * 1024) return send(res, 413, XML, status(url, 6, 'Invalid Content', 'badContentLength'));
    }
    const path = url.split('?')[0]!;
    const door = /^\/ISAPI\/AccessControl\/RemoteControl\/door\/(\d+)$/.exec(path);
    if (req.method === 'GET' && path === '/ISAPI/System/deviceInfo') return send(res, 200, XML, this.deviceInfo());
    if (req.method === 'PUT' && door) return this.remoteControl(res, url, Number(door[1]), body);
    if (req.method === 'POST' && path === '/ISAPI/AccessControl/AcsEvent') return this.search(res, body);
    send(res, 404, XML, status(url, 4, 'Invalid Operation', 'notSupport'));
  }

  private deviceInfo(): string {
    return (
      `<?xml version="1.0" encoding="UTF-8"?><DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">` +
      `<deviceName>Simulated Access Terminal</deviceName><model>DS-K1T-SIM</model><serialNumber>SIM0001</serialNumber>` +
      `<firmwareVersion>V3.0.0</firmwareVersion><deviceType>ACS</deviceType></DeviceInfo>`
    );
  }

  private remoteControl(res: ServerResponse, url: string, door: number, body: string): void {
    let cmd: string | undefined;
    if (body.trimStart().startsWith('{')) {
      try {
        cmd = (JSON.parse(body) as { RemoteControlDoor?: { cmd?: string } }).RemoteControlDoor?.cmd;
      } catch {
        return send(res, 400, XML, status(url, 6, 'Invalid Content', 'badJsonFormat'));
      }
    } else cmd = /<cmd>\s*([A-Za-z]+)\s*<\/cmd>/.exec(body)?.[1];
    if (!DOOR_CMDS.includes(cmd as never)) return send(res, 400, XML, status(url, 6, 'Invalid Content', 'badParameters'));
    if (door < 1 || door > this.o.doors) return send(res, 400, XML, status(url, 4, 'Invalid Operation', 'doorNoError'));
    this.model.remote(door, cmd as (typeof DOOR_CMDS)[number]);
    send(res, 200, XML, status(url, 1, 'OK', 'ok'));
  }

  private search(res: ServerResponse, body: string): void {
    let parsed;
    try {
      parsed = AcsEventCond.safeParse(JSON.parse(body));
    } catch {
      return send(res, 400, 'application/json', JSON.stringify({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'badJsonFormat' }));
    }
    if (!parsed.success) {
      const errorMsg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return send(res, 400, 'application/json', JSON.stringify({ statusCode: 6, statusString: 'Invalid Content', subStatusCode: 'badParameters', errorMsg }));
    }
    const c = parsed.data.AcsEventCond;
    const from = c.startTime ? Date.parse(c.startTime) : -Infinity;
    const to = c.endTime ? Date.parse(c.endTime) : Infinity;
    const matches = this.model.history.filter((r) => {
      const t = Date.parse(r.time);
      return t >= from && t <= to && (c.major === 0 || r.major === c.major) && (c.minor === 0 || r.minor === c.minor);
    });
    // Real terminals give at most 30 records a page.
    const page = matches.slice(c.searchResultPosition, c.searchResultPosition + Math.min(c.maxResults, 30));
    const more = c.searchResultPosition + page.length < matches.length;
    const responseStatusStrg = page.length === 0 ? 'NO MATCH' : more ? 'MORE' : 'OK';
    const InfoList = page.map(({ picture: _p, ...r }) => r);
    send(res, 200, 'application/json', JSON.stringify({ AcsEvent: { searchID: c.searchID, totalMatches: matches.length, responseStatusStrg, numOfMatches: page.length, InfoList } }));
  }

  private enqueuePush(r: SimRecord): void {
    if (!this.pushClient) return;
    this.pushes.pending++;
    this.pushQueue = this.pushQueue.then(async () => {
      const ok = await this.push(r);
      this.pushes.pending--;
      if (ok) this.pushes.delivered++;
      else this.pushes.failed++;
    });
  }

  /** Pushes one record, retrying; false when it did not get through (it stays in the history). */
  private async push(r: SimRecord): Promise<boolean> {
    const p = this.o.push!;
    const { picture: withPicture, major, minor, time, ...fields } = r;
    const notification = {
      ipAddress: this.o.host ?? '127.0.0.1',
      protocol: 'HTTP',
      dateTime: time,
      activePostCount: 1,
      eventType: 'AccessControllerEvent',
      eventState: 'active',
      eventDescription: 'Access Controller Event',
      AccessControllerEvent: { deviceName: 'Simulated Access Terminal', majorEventType: major, subEventType: minor, ...fields },
    };
    const boundary = `MIME_boundary_${randomBytes(8).toString('hex')}`;
    const part = (headers: string, data: Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), data, Buffer.from('\r\n')];
    const body = Buffer.concat([
      ...part('Content-Disposition: form-data; name="AccessControllerEvent"\r\nContent-Type: application/json', Buffer.from(JSON.stringify(notification))),
      ...(withPicture ? part('Content-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\nContent-Type: image/jpeg', picture()) : []),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    for (let attempt = 0; attempt <= (p.retries ?? 3); attempt++) {
      if (this.closed) return false;
      if (attempt > 0) await sleep(p.retryMs ?? 1000);
      if (this.offline) continue;
      try {
        const res = await this.pushClient!.fetch(p.url, {
          method: 'POST',
          body,
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        if (res.ok) return true;
      } catch {
        // Not reachable: retried.
      }
    }
    return false;
  }
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type });
  res.end(body);
}
