/**
 * Test helper: a real mosquitto on 127.0.0.1 standing in for a driver's external broker (e.g. a
 * LoRaWAN network server's), with password logins and persistent sessions; stopped by pid.
 * Kept here rather than imported from the uplink's test helpers so that the device tests do not
 * depend on the uplink's folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../core/free-port.js';

export interface RunningMosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts mosquitto in `dir` with these users (name -> password); anonymous logins refused. */
export async function startExternalBroker(
  dir: string,
  users: Record<string, string>,
  port?: number,
): Promise<RunningMosquitto> {
  port ??= await freePort();
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwd, u, p]);
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'allow_anonymous false',
    `password_file ${passwd}`,
    'log_type error',
    `log_dest file ${join(dir, 'mosquitto.log')}`,
  ];
  // mosquitto started as root drops to the user named here.
  if (userInfo().uid === 0) lines.push(`user ${userInfo().username}`);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    if (await listening(port)) break;
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}); see ${dir}/mosquitto.log`);
    if (i === 100) {
      child.kill();
      throw new Error('mosquitto did not start listening');
    }
    await sleep(50);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
