/**
 * Manual testing: serves N simulated gas detectors (unit ids 1..N) over Modbus TCP on 127.0.0.1.
 *
 *   npx tsx simulators/gas-detector/cli.ts [--port 15020] [--units 5]
 *
 * Then type commands: `lel <unit> <%LEL>`, `fault <unit> <code|0>`, `dead <unit>`, `alive <unit>`,
 * `show`, `quit`. E.g. `mbpoll -m tcp -p 15020 -a 1 -t 4 -r 1 -c 5 127.0.0.1` reads unit 1.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startGasSimulatorTcp } from './serve-tcp.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '15020' }, units: { type: 'string', default: '5' } },
});
const count = Number(values.units);
const port = Number(values.port);
if (
  !Number.isInteger(count) ||
  count < 1 ||
  count > 247 ||
  !Number.isInteger(port) ||
  port < 0 ||
  port > 65535
) {
  console.error('usage: cli.ts [--port 0..65535] [--units 1..247]');
  process.exit(2);
}

const running = await startGasSimulatorTcp({ port, units: Array.from({ length: count }, (_, i) => i + 1) });
const { sim } = running;
console.log(`gas detectors 1..${count} on modbus tcp 127.0.0.1:${running.port}; type "help" for commands`);

const show = () => {
  for (const u of sim.unitIds()) {
    console.log(
      `unit ${u}: ${sim.status(u)} registers=${JSON.stringify(sim.registers(u))} valve=${sim.getValve(u) ? 'closed' : 'open'}`,
    );
  }
};

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  const unit = Number(a);
  try {
    if (cmd === 'lel') sim.setLel(unit, Number(b));
    else if (cmd === 'fault') sim.setFault(unit, Number(b));
    else if (cmd === 'dead') sim.setResponding(unit, false);
    else if (cmd === 'alive') sim.setResponding(unit, true);
    else if (cmd === 'show') return show();
    else if (cmd === 'quit') return rl.close();
    else if (cmd)
      return console.log(
        'commands: lel <unit> <%LEL> | fault <unit> <code|0> | dead <unit> | alive <unit> | show | quit',
      );
    else return;
    console.log('ok');
  } catch (err) {
    console.log(`error: ${(err as Error).message}`);
  }
});
rl.on('close', () => void running.close().then(() => process.exit(0)));
process.on('SIGINT', () => rl.close());
