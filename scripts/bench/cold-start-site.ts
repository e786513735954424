/**
 * The 20,000-device site of the cold-start figures: gas detectors `gas-00001`... in driver
 * instances of 200 (one Modbus unit id range each). For the gateway, a site file (YAML); for
 * Node-RED, the same devices as the table its flow looks devices up in.
 */
export const SITE_DEVICES = 20_000;
const PER_INSTANCE = 200;

export interface SiteDevice {
  id: string;
  unitId: number;
  building: string;
  zone: string;
  tags: string[];
}

export function siteDevices(count = SITE_DEVICES): SiteDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `gas-${String(i + 1).padStart(5, '0')}`,
    unitId: (i % PER_INSTANCE) + 1,
    building: `b${String((i % 400) + 1).padStart(3, '0')}`,
    zone: `kitchen-${(i % 10) + 1}`,
    tags: ['kitchen'],
  }));
}

/** Node-RED's device table: id -> building, zone, tags. */
export function deviceTable(devices: SiteDevice[]): Record<string, Omit<SiteDevice, 'id' | 'unitId'>> {
  return Object.fromEntries(devices.map((d) => [d.id, { building: d.building, zone: d.zone, tags: d.tags }]));
}

export interface SiteFileOptions {
  devices: SiteDevice[];
  journalPath: string;
  brokerPort: number;
  /** The Modbus TCP simulator the first instance polls; the others are configured but not started. */
  sim: { host: string; port: number };
}

/**
 * The gateway's site file: the first driver instance polls the simulator (so a first event comes),
 * the others are complete but `enabled: false` (validated and in the inventory, no bus to poll).
 */
export function siteYaml(o: SiteFileOptions): string {
  const lines = [
    'site: { id: bench-site }',
    'gateway: { id: bench-gw }',
    'demo: true',
    'log: { level: warn }',
    `broker: { listeners: [{ type: tcp, host: 127.0.0.1, port: ${o.brokerPort} }] }`,
    `journal: { path: ${JSON.stringify(o.journalPath)} }`,
    'http: { host: 127.0.0.1, port: 0 }',
    'drivers:',
  ];
  for (let d = 0; d * PER_INSTANCE < o.devices.length; d++) {
    const first = d === 0;
    lines.push(
      `  - family: gas-detector`,
      `    id: gas-line-${d + 1}`,
      `    enabled: ${first}`,
      `    transport: { type: tcp, host: ${first ? o.sim.host : '127.0.0.1'}, port: ${first ? o.sim.port : 1} }`,
      '    pollIntervalMs: 1000',
      '    devices:',
      ...o.devices
        .slice(d * PER_INSTANCE, (d + 1) * PER_INSTANCE)
        .map((x) => `      - { id: ${x.id}, unitId: ${x.unitId}, building: ${x.building}, zone: ${x.zone}, tags: [${x.tags.join(', ')}] }`),
    );
  }
  return `${lines.join('\n')}\n`;
}
