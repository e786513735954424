/** The manual clock of the core, for family tests (which reach the core only through the driver API and test helpers). */
export { ManualClock } from '../../core/clock.js';
