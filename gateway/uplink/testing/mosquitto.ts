/**
 * Test helpers: a real Debian mosquitto as the city broker on 127.0.0.1 (generated
 * mosquitto.conf, optional password file, ACL and TLS with openssl-made certificates),
 * started and stopped by pid; and a recording MQTT 5 subscriber.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface MosquittoOptions {
  dir: string;
  port?: number;
  /** user -> password; written with mosquitto_passwd; anonymous access off when given. */
  users?: Record<string, string>;
  /** ACL file text. */
  acl?: string;
  tls?: { caFile: string; certFile: string; keyFile: string; requireCertificate?: boolean };
  /** Keep sessions and queued messages across a graceful restart (SIGTERM). Default true. */
  persistence?: boolean;
}

export interface Mosquitto {
  port: number;
  url: string;
  pid: number;
  /** Stops by pid (SIGTERM: saves persistence; SIGKILL: abrupt) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startMosquitto(o: MosquittoOptions): Promise<Mosquitto> {
  const port = o.port ?? (await freePort());
  const lines = [
    `listener ${port} 127.0.0.1`,
    `persistence ${o.persistence === false ? 'false' : 'true'}`,
    `persistence_location ${o.dir}/`,
  ];
  lines.push(
    'max_queued_messages 0',
    'log_type error',
    'log_type warning',
    'log_type notice',
    `log_dest file ${join(o.dir, 'mosquitto.log')}`,
  );
  if (userInfo().uid === 0) lines.push(`user ${userInfo().username}`);
  if (o.users) {
    const pw = join(o.dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(o.users)) execFileSync('mosquitto_passwd', ['-b', pw, u, p]);
    lines.push('allow_anonymous false', `password_file ${pw}`);
  } else lines.push('allow_anonymous true');
  if (o.acl) {
    const acl = join(o.dir, 'acl');
    writeFileSync(acl, o.acl);
    lines.push(`acl_file ${acl}`);
  }
  if (o.tls) {
    lines.push(`cafile ${o.tls.caFile}`, `certfile ${o.tls.certFile}`, `keyfile ${o.tls.keyFile}`);
    if (o.tls.requireCertificate) lines.push('require_certificate true');
  }
  const conf = join(o.dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) break;
    if (child.exitCode !== null)
      throw new Error(`mosquitto exited (${child.exitCode}); see ${o.dir}/mosquitto.log`);
    await sleep(50);
    if (i === 99) throw new Error('mosquitto did not start listening');
  }
  return {
    port,
    url: `${o.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms up to `tries` times; throws with `what` when it never holds. */
export async function waitFor(what: string, check: () => boolean, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

export interface Certs {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: a client trusting only it must refuse the broker. */
  wrongCaFile: string;
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost, a client certificate and an unrelated CA with openssl. */
export function makeCerts(dir: string): Certs {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ca = (name: string) => {
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
    );
  };
  ca('test-ca');
  ca('wrong-ca');
  const leaf = (name: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('test-ca.pem'),
      '-CAkey',
      f('test-ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: f('test-ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    wrongCaFile: f('wrong-ca.pem'),
  };
}

export interface Received {
  topic: string;
  text: string;
  json: Record<string, unknown>;
  retain: boolean;
  userProperties: Record<string, string | string[]>;
  correlationData?: Buffer;
  messageExpiryInterval?: number;
}

/**
 * A recording MQTT 5 subscriber with a persistent session (it gets what was published while
 * mosquitto restarted). Resolves once subscribed.
 */
export async function recorder(
  url: string,
  filter: string,
  o: { clientId?: string; username?: string; password?: string } = {},
): Promise<{ messages: Received[]; client: MqttClient; close(): Promise<void> }> {
  const messages: Received[] = [];
  const client = connect(url, {
    protocolVersion: 5,
    clientId: o.clientId ?? `rec-${Math.random().toString(16).slice(2)}`,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 100,
    username: o.username,
    password: o.password,
  });
  client.on('error', () => {});
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // keep the text
    }
    messages.push({
      topic,
      text,
      json,
      retain: packet.retain,
      userProperties: packet.properties?.userProperties ?? {},
      correlationData: packet.properties?.correlationData,
      messageExpiryInterval: packet.properties?.messageExpiryInterval,
    });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () =>
      client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
  });
  return { messages, client, close: () => client.endAsync(true) };
}
