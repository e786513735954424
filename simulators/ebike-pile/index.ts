/** E-bike pile simulator: the pile model, and a Modbus TCP server. */
export { type EbikeSimulatorTcpOptions, type RunningEbikeSimulatorTcp, startEbikeSimulatorTcp } from './serve-tcp.js';
export { EbikePileSimulator, type SimPort } from './simulator.js';
