/**
 * A gateway stand-in for the kill -9 test: the real Journal (synchronous FULL) + Pipeline +
 * Uplink in a process of its own. Usage: node --import tsx uplink-child.ts '<json options>'
 * Options: { dbPath, url, ingest?: number (events per 5 ms tick), inflightWindow? }.
 * Prints `ready` on stdout once started.
 */
import { createHarness } from './harness.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  dbPath: string;
  url: string;
  ingest?: number;
  inflightWindow?: number;
};
const h = createHarness({
  dbPath: opts.dbPath,
  synchronous: 'FULL',
  logLevel: 'warn',
  logTo: process.stderr,
  uplink: {
    url: opts.url,
    backoff: { initialMs: 50, maxMs: 200 },
    outbox: { inflightWindow: opts.inflightWindow ?? 20 },
  },
});
h.uplink.start();
const kinds = ['telemetry', 'event', 'telemetry', 'alarm', 'telemetry'] as const;
let i = 0;
const timer = opts.ingest
  ? setInterval(() => {
      // telemetry may wait while the journal is behind (a slow fsync on a busy machine), as with a driver
      for (let k = 0; k < (opts.ingest ?? 0); k++) h.offer(kinds[i++ % kinds.length]!);
    }, 5)
  : undefined;
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  clearInterval(timer);
  void h.close().then(() => process.exit(0));
});
