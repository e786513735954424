/**
 * Writes the JSON Schemas of the MQTT contract and of the site config into docs/schemas/, and
 * the table of the registered device families (events, commands, built-in rules).
 * `npm run gen:schemas` regenerates them; a test fails when the committed files are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SiteConfig } from '../config/schema.js';
import { AlarmEventData } from '../gateway/alarms/alarm-contract.js';
import {
  Birth,
  CommandRequest,
  CommandResponse,
  GatewayStatus,
  UplinkEvent,
} from '../gateway/core/contract-payloads.js';
import { EventEnvelope } from '../gateway/core/envelope.js';
import { renderFamilyDocs } from './family-docs.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../docs/schemas/', import.meta.url));

const SCHEMAS: Record<string, { schema: z.ZodType; title: string; io: 'input' | 'output' }> = {
  'event-envelope.schema.json': {
    schema: EventEnvelope,
    title: 'Event envelope (contract v1)',
    io: 'output',
  },
  'gateway-status.schema.json': {
    schema: GatewayStatus,
    title: 'Gateway status (contract v1)',
    io: 'output',
  },
  'command-request.schema.json': {
    schema: CommandRequest,
    title: 'Command request (contract v1)',
    io: 'input',
  },
  'command-response.schema.json': {
    schema: CommandResponse,
    title: 'Command response (contract v1)',
    io: 'output',
  },
  'alarm-event-data.schema.json': {
    schema: AlarmEventData,
    title: 'Data of alarm.* events (v1)',
    io: 'output',
  },
  'uplink-event.schema.json': {
    schema: UplinkEvent,
    title: 'Event as published to the city broker (contract v1)',
    io: 'output',
  },
  'birth.schema.json': {
    schema: Birth,
    title: 'Gateway birth: inventory and capabilities (contract v1)',
    io: 'output',
  },
  'config.schema.json': { schema: SiteConfig, title: 'Site configuration', io: 'input' },
};

export function renderSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, { schema, title, io }] of Object.entries(SCHEMAS)) {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
    out[file] = `${JSON.stringify({ title, ...json }, null, 2)}\n`;
  }
  out['device-families.md'] = renderFamilyDocs();
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [file, text] of Object.entries(renderSchemas())) writeFileSync(join(SCHEMA_DIR, file), text);
  console.log(`wrote ${Object.keys(SCHEMAS).length} schemas and device-families.md to docs/schemas/`);
}
