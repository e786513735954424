/**
 * What every launcher of a gateway process gives `node` (the systemd unit, the `gateway` wrapper,
 * `npm run demo`, `npm run gateway`, the benchmark's processes): the V8 heap limit on the command
 * line and the malloc arena limit in the environment. Tests keep them in step with these.
 *
 * Why: the gateway's live heap is about 30-40 MB, but V8 sizes its heap to the allocation rate and to
 * the memory of the machine. With a heap limit of 2 GB or more (the default on a machine with a
 * few GB) it lets the old generation grow to about four times what is live before collecting it:
 * at 20,000-30,000 events/s the process sat near 260-290 MB. Below that limit V8 grows the heap by
 * a smaller factor (V8 scales it from 1.3 at 256 MB to 4 at 2 GB: about 1.6 at 1 GB, 1.4 at
 * 512 MB). Measured under three times the load it can take, the peak RSS was 193-196 MB at 1 GB
 * and 180-184 MB at 512 MB, the same capacity. The price, at a steady 20,000 events/s: more
 * frequent full collections, about 4 % more CPU and a p99 of 22-29 ms instead of 16-23 ms (three
 * runs each); none at 2,000 events/s. 512 MB is still 13-17 times the live heap, and 2.7 times
 * what parsing a 20,000-device site file needs (`check-config` on one passes with 192 MB, not with
 * 160). (Smaller semi-spaces were tried too: 20 MB less, a third less telemetry kept under
 * overload; not taken.)
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-old-space-size=512'];

/**
 * glibc's malloc gives each thread that allocates an arena of its own, up to eight per core
 * (mallopt(3), M_ARENA_MAX), and keeps much of what is freed in an arena for later use there. The
 * gateway's threads that allocate (the event loop, the journal's writer and worker, V8's helpers,
 * libuv's pool) then each hold memory of their own. Two arenas, read by glibc at process start (so it is
 * set by the launcher, not by the gateway): under three times the load it can take, the peak RSS
 * was 189 MB against 200 MB without, and 8-14 MB lower at every step of the calibration before it
 * from 12,500 events/s up (one run each, back to back); at a steady 20,000 events/s the CPU per event
 * of every thread was the same within the run-to-run spread (two runs each). Ignored by other C
 * libraries (musl).
 */
export const GATEWAY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
