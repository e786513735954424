/** Every fuzzed ingress, one line each (each device family adds its own). */
import type { FuzzTarget } from './fuzz-target.js';

export const FUZZ_TARGETS: FuzzTarget[] = [];
