/**
 * The one device inventory of a gateway, built from the site's driver instances and the
 * family registry: what events carry as `device`, which driver and family each device
 * belongs to, and the device list of the birth message.
 */
import type { Birth } from '../core/contract-payloads.js';
import type { DeviceRef } from '../core/envelope.js';
import { GATEWAY_EVENT_TYPES } from '../core/gateway-events.js';
import type { Watches } from '../core/watches.js';
import type { AnyFamily, DeviceBase, DriverConfig } from './driver-api.js';

export interface Inventory {
  /** Every configured device and the gateway itself (family 'gateway'), as events carry it. */
  readonly devices: ReadonlyMap<string, DeviceRef>;
  /** The driver instance config the device belongs to. */
  driverOf(deviceId: string): DriverConfig | undefined;
  /** Its config entry (family-specific fields included). */
  deviceConfig(deviceId: string): DeviceBase | undefined;
  familyOf(deviceId: string): string | undefined;
  /** What each watching device (a camera: its config's `watches`) has in view. */
  readonly watches: ReadonlyMap<string, Watches>;
  /** Birth message device list: per device the commands it accepts and its family's event types. */
  birthDevices(): Birth['devices'];
}

/** The commands one device accepts: per model where the family says so, none when its driver is disabled. */
export function commandsOf(family: AnyFamily | undefined, driver: DriverConfig, device: DeviceBase): string[] {
  if (!family || !driver.enabled) return [];
  const all = Object.keys(family.commands);
  const allowed = family.commandsFor ? new Set<string>(family.commandsFor(device)) : undefined;
  return allowed ? all.filter((c) => allowed.has(c)) : all;
}

export function buildInventory(
  gatewayId: string,
  drivers: readonly DriverConfig[],
  families: readonly AnyFamily[],
): Inventory {
  const byFamily = new Map(families.map((f) => [f.family, f]));
  const devices = new Map<string, DeviceRef>([[gatewayId, { id: gatewayId, family: 'gateway', tags: [] }]]);
  const entries = new Map<string, { driver: DriverConfig; device: DeviceBase }>();
  const watches = new Map<string, Watches>();
  for (const driver of drivers) {
    for (const device of driver.devices) {
      const w = (device as { watches?: Watches }).watches;
      if (w) watches.set(device.id, w);
      devices.set(device.id, {
        id: device.id,
        family: driver.family,
        ...(device.building !== undefined ? { building: device.building } : {}),
        ...(device.zone !== undefined ? { zone: device.zone } : {}),
        tags: device.tags,
      });
      entries.set(device.id, { driver, device });
    }
  }
  // The device list does not change while the gateway runs: built once.
  const birth: Birth['devices'] = [...devices.values()].map((ref) => {
    const entry = entries.get(ref.id);
    if (!entry) return { ...ref, commands: [], eventTypes: Object.keys(GATEWAY_EVENT_TYPES) };
    const family = byFamily.get(entry.driver.family);
    return {
      ...ref,
      commands: commandsOf(family, entry.driver, entry.device),
      eventTypes: family ? Object.keys(family.events) : [],
    };
  });
  return {
    devices,
    driverOf: (id) => entries.get(id)?.driver,
    deviceConfig: (id) => entries.get(id)?.device,
    familyOf: (id) => devices.get(id)?.family,
    watches,
    birthDevices: () => birth,
  };
}
