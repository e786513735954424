/**
 * MQTT contract v1 topic layout (docs/mqtt-contract.md). The same layout is used on the
 * local bus and towards the city platform. `<root>` is `cg/v1/<site>/<gateway>`.
 */
export const CONTRACT_VERSION = 'v1';

export function topicRoot(site: string, gateway: string): string {
  return `cg/${CONTRACT_VERSION}/${site}/${gateway}`;
}

export const topics = {
  /** Every event, not retained: `<root>/events/<family>/<deviceId>/<type>`. */
  event: (root: string, family: string, deviceId: string, type: string) =>
    `${root}/events/${family}/${deviceId}/${type}`,
  /** Retained last known state of a device: `<root>/state/<family>/<deviceId>`. */
  state: (root: string, family: string, deviceId: string) => `${root}/state/${family}/${deviceId}`,
  /** Retained availability of a device: `<root>/availability/<deviceId>`. */
  availability: (root: string, deviceId: string) => `${root}/availability/${deviceId}`,
  /** Retained gateway status (`online`/`offline`, Last Will): `<root>/status`. */
  status: (root: string) => `${root}/status`,
  /** Commands to a device: `<root>/cmd/<deviceId>/<command>`. */
  command: (root: string, deviceId: string, name: string) => `${root}/cmd/${deviceId}/${name}`,
  /** Command responses: `<root>/cmd-response/<deviceId>`. */
  commandResponse: (root: string, deviceId: string) => `${root}/cmd-response/${deviceId}`,
};
