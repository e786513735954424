/**
 * An OCPP 1.6J message checker independent of ocpp-rpc: ajv (draft-04, through `ajv-draft-04`)
 * compiles the OCA's OCPP 1.6 JSON schema files unchanged, one file per message
 * (`<Action>.json` for the request, `<Action>Response.json` for the answer). The files are read
 * from the npm package `ocpp-ts` (exact-pinned devDependency, used only for these files, never
 * imported as code), which ships them byte for byte under `src/ocpp-1.6-schemas/`.
 *
 * `record` follows an ocpp-rpc client's `message` events and keeps each CALL with its
 * CALLRESULT, so every message of both sides can be checked against its action's schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv';
import type { RPCClient } from 'ocpp-rpc';

/** Where the official files are: the package's own folder (its `exports` do not list them). */
export const SCHEMA_DIR = join(dirname(createRequire(import.meta.url).resolve('ocpp-ts/package.json')), 'src', 'ocpp-1.6-schemas');

// A CommonJS module: under NodeNext its default import is `module.exports`, whose `default` is the class.
const Ajv04 = ajvDraft04.default;
const ajv = new Ajv04({ strict: false, allErrors: true });
// RFC 3339 date-time (what OCPP's dateTime is) and an absolute URI: the two formats the schemas use.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S+$/i);

const compiled = new Map<string, ValidateFunction>();
for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))) {
  const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as { $schema?: string };
  if (schema.$schema !== 'http://json-schema.org/draft-04/schema#') throw new Error(`${file} in ${SCHEMA_DIR} is not a draft-04 schema`);
  const m = /^(\w+?)(Response)?\.json$/.exec(file)!;
  compiled.set(`${m[1]}.${m[2] ? 'conf' : 'req'}`, ajv.compile(schema));
}

export function validator(action: string, kind: 'req' | 'conf'): ValidateFunction {
  const v = compiled.get(`${action}.${kind}`);
  if (!v) throw new Error(`no OCPP 1.6 schema for ${action}.${kind} in ${SCHEMA_DIR}`);
  return v;
}

export interface Recorded {
  from: 'charge-point' | 'central-system';
  action: string;
  kind: 'req' | 'conf';
  payload: unknown;
}

/** Records the calls and results a charge point's client sends and receives (not errors). */
export function record(client: RPCClient): Recorded[] {
  const out: Recorded[] = [];
  const actions = new Map<string, { action: string; from: Recorded['from'] }>();
  client.on('message', ({ message, outbound }: { message: string | Buffer; outbound: boolean }) => {
    const m = JSON.parse(String(message)) as unknown[];
    const sender = outbound ? 'charge-point' : 'central-system';
    if (m[0] === 2) {
      actions.set(m[1] as string, { action: m[2] as string, from: sender });
      out.push({ from: sender, action: m[2] as string, kind: 'req', payload: m[3] });
    } else if (m[0] === 3) {
      const call = actions.get(m[1] as string);
      if (call) out.push({ from: sender, action: call.action, kind: 'conf', payload: m[2] });
    }
  });
  return out;
}

/** Each recorded message that does not validate, with ajv's reasons. */
export function invalidMessages(recorded: readonly Recorded[]): string[] {
  return recorded.flatMap((r) => {
    const v = validator(r.action, r.kind);
    return v(r.payload) ? [] : [`${r.from} ${r.action}.${r.kind}: ${ajv.errorsText(v.errors)}`];
  });
}
