/**
 * The relay floor as a process of its own (for the `relay-overload` section): an MQTT.js client
 * that subscribes to the device topics on the local bus and republishes every message, untouched,
 * on the event topic of the local bus and to the city broker, with the QoS it came with.
 * Nothing else: no parsing, no storage. Exits when its parent goes.
 *
 * argv: <local mqtt url> <city mqtt url> <topic root>
 */
import type { Socket } from 'node:net';
import mqtt from 'mqtt';
import { batchWritesPerTurn } from './tcp-batching.js';

const [localUrl = '', cityUrl = '', root = ''] = process.argv.slice(2);
const options = { protocolVersion: 4 as const, clean: true, reconnectPeriod: 0 };
const local = mqtt.connect(localUrl, { ...options, clientId: `bench-relay-local-${process.pid}` });
const city = mqtt.connect(cityUrl, { ...options, clientId: `bench-relay-city-${process.pid}` });
for (const c of [local, city]) {
  c.on('error', (err) => console.error(`[bench relay] ${err.message}`));
  batchWritesPerTurn(c.stream as Socket);
}

local.on('message', (topic, payload, packet) => {
  const out = `${root}/events/${topic.slice(4)}`;
  const qos = packet.qos === 0 ? 0 : 1;
  local.publish(out, payload, { qos });
  city.publish(out, payload, { qos });
});
local.on('connect', () => local.subscribe('dev/#', { qos: 1 }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
