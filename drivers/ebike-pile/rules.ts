/**
 * Built-in alarm rules of the ebike-pile family, as data. A pile cuts a port by itself on
 * overcurrent or overheating; an alarm whose reading still shows the relay on means it did not
 * (a welded or stuck relay): critical alarm, and the gateway cuts that port (the port number is
 * taken from the alarm's event). On by default; a site disables or replaces each by id.
 */
import type { RuleInput } from '../../gateway/devices/driver-api.js';

const place = '{device.id}（{device.building} {device.zone}）';
const cut = [
  { command: 'port.cut', args: { port: '{data.port}' }, target: { scope: 'trigger' as const, devices: { family: 'ebike-pile' } } },
];

export const EBIKE_RULES: readonly RuleInput[] = [
  {
    id: 'ebike-overcurrent-relay-on',
    description: 'Overcurrent on a port whose relay is still on (the pile did not cut it): critical, cut the port.',
    severity: 'critical',
    message: `电动车充电桩过流未断电：${place} 端口 {data.port} 电流 {data.amps} A（限值 {data.limitAmps} A），已远程断电`,
    match: { type: 'pile.overcurrent', devices: { family: 'ebike-pile' }, where: { relayOn: true } },
    actions: cut,
  },
  {
    id: 'ebike-overtemperature-relay-on',
    description: 'Overtemperature on a port whose relay is still on: critical, cut the port.',
    severity: 'critical',
    message: `电动车充电桩过温未断电：${place} 端口 {data.port} 温度 {data.temperatureC} °C，已远程断电`,
    match: { type: 'pile.overtemperature', devices: { family: 'ebike-pile' }, where: { relayOn: true } },
    actions: cut,
  },
  {
    id: 'ebike-overcurrent',
    description: 'The pile cut a port on overcurrent.',
    severity: 'major',
    message: `电动车充电桩过流保护：${place} 端口 {data.port} 电流 {data.amps} A`,
    match: { type: 'pile.overcurrent', devices: { family: 'ebike-pile' }, where: { relayOn: false } },
  },
  {
    id: 'ebike-overtemperature',
    description: 'The pile cut a port on overtemperature.',
    severity: 'major',
    message: `电动车充电桩过温保护：${place} 端口 {data.port} 温度 {data.temperatureC} °C`,
    match: { type: 'pile.overtemperature', devices: { family: 'ebike-pile' }, where: { relayOn: false } },
  },
  {
    id: 'ebike-fault',
    description: 'A port reports a fault.',
    severity: 'major',
    message: `电动车充电桩故障：${place} 端口 {data.port} 故障码 {data.faultCode}`,
    match: { type: 'pile.fault', devices: { family: 'ebike-pile' } },
  },
];
