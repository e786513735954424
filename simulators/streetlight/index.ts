/** Streetlight simulator: the controller model, and a Modbus TCP server. */
export { type RunningStreetlightSimulatorTcp, startStreetlightSimulatorTcp, type StreetlightSimulatorTcpOptions } from './serve-tcp.js';
export { type SimLamp, StreetlightSimulator } from './simulator.js';
