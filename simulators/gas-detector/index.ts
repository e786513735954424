/** Gas-detector simulator: the device model, and servers speaking Modbus TCP and Modbus RTU. */
export {
  type GasSimulatorRtuOptions,
  type RunningGasSimulatorRtu,
  startGasSimulatorRtu,
} from './serve-rtu.js';
export {
  type GasSimulatorTcpOptions,
  type RunningGasSimulatorTcp,
  startGasSimulatorTcp,
} from './serve-tcp.js';
export { GasDetectorSimulator, type SimUnitInit } from './simulator.js';
