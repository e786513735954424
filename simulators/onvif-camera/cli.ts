/**
 * Manual testing: one simulated ONVIF camera (on 127.0.0.1 unless --host says otherwise).
 *
 *   npx tsx simulators/onvif-camera/cli.ts [--host 127.0.0.1] [--port 8080] [--user admin] [--password admin123]
 *       [--clock-offset-ms 0] [--stream] [--discovery-port 3702]
 *
 * Then type commands: `motion on|off`, `tamper on|off`, `videoloss on|off`, `line [objectId]`,
 * `reboot [ms]`, `malform <n> [not-xml|truncated]`, `fault <n> [subcode]`, `hang on|off`,
 * `password <new>`, `clock <offsetMs>`, `show`, `quit`.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { OnvifCameraSimulator } from './camera.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    user: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'admin123' },
    'clock-offset-ms': { type: 'string', default: '0' },
    stream: { type: 'boolean', default: false },
    'discovery-port': { type: 'string' },
  },
});
const port = Number(values.port);
const offset = Number(values['clock-offset-ms']);
const discoveryPort = values['discovery-port'] === undefined ? undefined : Number(values['discovery-port']);
if (![port, discoveryPort ?? 0].every((p) => Number.isInteger(p) && p >= 0 && p <= 65535) || !Number.isFinite(offset)) {
  console.error('usage: cli.ts [--host ADDRESS] [--port 0..65535] [--user U] [--password P] [--clock-offset-ms N] [--stream] [--discovery-port 0..65535]');
  process.exit(2);
}

const sim = new OnvifCameraSimulator({
  host: values.host, port, username: values.user, password: values.password, clockOffsetMs: offset, stream: values.stream, discoveryPort,
  log: (l) => console.log(l),
});
await sim.start();
console.log(`onvif camera at ${sim.deviceUrl} (user ${values.user}), stream ${sim.streamUri}` +
  (sim.discoveryPort ? `, ws-discovery on udp ${sim.discoveryPort}` : '') + '; type "help" for commands');

const onOff = (v: string | undefined) => {
  if (v !== 'on' && v !== 'off') throw new Error('say on or off');
  return v === 'on';
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  try {
    if (cmd === 'motion') sim.setMotion(onOff(a));
    else if (cmd === 'tamper') sim.setTamper(onOff(a));
    else if (cmd === 'videoloss') sim.setVideoLoss(onOff(a));
    else if (cmd === 'line') sim.crossLine(a ? Number(a) : undefined);
    else if (cmd === 'reboot') void sim.reboot(a ? Number(a) : undefined).then(() => console.log('camera up again'));
    else if (cmd === 'malform') sim.malformNext(Number(a), b === 'truncated' ? 'truncated' : 'not-xml');
    else if (cmd === 'fault') sim.faultNext(Number(a), b);
    else if (cmd === 'hang') sim.setHanging(onOff(a));
    else if (cmd === 'password') sim.setPassword(a ?? '');
    else if (cmd === 'clock') sim.setClockOffset(Number(a));
    else if (cmd === 'show') {
      return console.log(JSON.stringify({ ...sim.state, preset: sim.currentPreset, subscriptions: sim.subscriptions(), calls: sim.calls.slice(-10) }));
    } else if (cmd === 'quit') return rl.close();
    else if (cmd) {
      return console.log(
        'commands: motion on|off | tamper on|off | videoloss on|off | line [objectId] | reboot [ms] | ' +
          'malform <n> [not-xml|truncated] | fault <n> [subcode] | hang on|off | password <new> | clock <offsetMs> | show | quit',
      );
    } else return;
    console.log('ok');
  } catch (err) {
    console.log(`error: ${(err as Error).message}`);
  }
});
rl.on('close', () => void sim.close().then(() => process.exit(0)));
process.on('SIGINT', () => rl.close());
process.on('SIGTERM', () => rl.close()); // stops the RTSP server and ffmpeg too
