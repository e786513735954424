/** I/O module simulator: the module model, and servers speaking Modbus TCP and Modbus RTU. */
export { type IoSimulatorRtuOptions, type RunningIoSimulatorRtu, startIoSimulatorRtu } from './serve-rtu.js';
export { type IoSimulatorTcpOptions, type RunningIoSimulatorTcp, startIoSimulatorTcp } from './serve-tcp.js';
export { IoModuleSimulator, type SimModuleInit } from './simulator.js';
