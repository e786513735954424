/** Every fuzzed ingress, one line each (each device family adds its own). */
import { brokerFuzzTarget } from '../../gateway/broker/broker.fuzz.js';
import { modbusFuzzTarget } from '../../drivers/modbus/modbus.fuzz.js';
import { siteFileFuzzTarget } from '../../config/site-file.fuzz.js';
import type { FuzzTarget } from '../../gateway/testing/fuzz-target.js';

export const FUZZ_TARGETS: FuzzTarget[] = [brokerFuzzTarget, modbusFuzzTarget, siteFileFuzzTarget];
