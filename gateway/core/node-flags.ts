/**
 * The V8 heap limit every launcher of a gateway process passes to `node` (the systemd unit, the
 * `gateway` wrapper, `npm run demo`, `npm run gateway`, the benchmark's gateway processes): a test
 * keeps them in step with this list.
 *
 * Why: the gateway's live heap is about 40 MB, but V8 sizes its heap to the allocation rate and to
 * the memory of the machine. With a heap limit of 2 GB or more (the default on a machine with a
 * few GB) it lets the old generation grow to about four times what is live before collecting it:
 * at 20,000-30,000 events/s the process sat near 260-290 MB. Below that limit V8 grows the heap by
 * a smaller factor (about 1.6 at 1 GB); measured at the same load, 175-180 MB, with the same CPU
 * and throughput. 1 GB is still 25 times the live heap: room for a 20,000-device site file while
 * it is parsed. (Smaller semi-spaces were tried too: a few MB less, 15 % more CPU; not taken.)
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-old-space-size=1024'];
