/** The installer's commands the `gateway` command dispatches to. */
import { errorMessage, GatewayError } from '../core/errors.js';
import type { FamilyDiscover } from '../devices/driver-api.js';
import { modbusDiscover } from './discover-modbus.js';
import { DOCTOR_USAGE, doctorCommand } from './doctor.js';

/** `gateway discover <protocol>` the platform provides (protocols shared by several families). */
export const PLATFORM_DISCOVER: readonly FamilyDiscover[] = [modbusDiscover];

/** Usage lines of the installer's commands for `gateway --help`. */
export const INSTALLER_USAGE = `  ${DOCTOR_USAGE}`;

/** `gateway <name> …` of the installer: each prints its report and resolves with the exit code. */
export const INSTALLER_COMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  async doctor(args) {
    let report: { text: string; code: number };
    try {
      report = await doctorCommand(args);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('USAGE', `doctor: ${errorMessage(err)}`, 'run `gateway --help`');
    }
    console.log(report.text);
    return report.code;
  },
};
