/**
 * The V8 heap settings every launcher of a gateway process passes to `node` (the systemd unit, the
 * `gateway` wrapper, `npm run demo`, `npm run gateway`, the benchmark's gateway processes): a test
 * keeps them in step with this list.
 *
 * Why: the gateway's live heap is about 40 MB, but V8 sizes its heap to the allocation rate and to
 * the memory of the machine. Without a limit it lets the old generation grow to about four times
 * what is live before collecting it (the largest heap-growing factor, which V8 allows when the heap
 * limit is 2 GB or more), and keeps 16 MB semi-spaces: at 20,000 events/s the process then sits
 * near 290 MB. A 1 GB old-space limit (25 times the live heap: room for a 20,000-device site file
 * while it is parsed) makes V8 grow the heap by about 1.6 times instead, and 8 MB semi-spaces halve
 * the young generation; measured, the same load runs at about 170 MB with no loss of throughput.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-old-space-size=1024', '--max-semi-space-size=8'];
