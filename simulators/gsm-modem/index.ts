/** GSM modem simulator (AT commands, SMS text mode) on a socat serial pty. */
export {
  GsmModemSimulator,
  type RunningGsmModem,
  type SimulatedSms,
  startGsmModemSimulator,
} from './modem-simulator.js';
