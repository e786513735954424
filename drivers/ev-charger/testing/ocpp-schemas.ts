/**
 * An OCPP 1.6J message checker independent of ocpp-rpc's own validation: ajv (a separate
 * instance and version) compiles the OCPP 1.6 JSON schemas as ocpp-rpc's package ships them
 * (`ocpp-rpc/lib/schemas/ocpp1_6.json`: the OCPP 1.6 JSON schemas, converted to draft-07 and
 * merged into one file with `$id` `urn:<Action>.req` / `urn:<Action>.conf`; see the notes on
 * how they differ from the files OCA publishes).
 *
 * `record` follows an ocpp-rpc client's `message` events and keeps each CALL with its
 * CALLRESULT, so every message of both sides can be checked against its action's schema.
 */
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import type { RPCClient } from 'ocpp-rpc';

const require = createRequire(import.meta.url);
const schemas = require('ocpp-rpc/lib/schemas/ocpp1_6.json') as { $id: string }[];

const ajv = new Ajv({ strict: false, allErrors: true });
// RFC 3339 date-time (what OCPP's dateTime is) and an absolute URI: the two formats the schemas use.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S+$/i);
// ajv takes `$id` for a URI, and `urn:Authorize.req` is no valid URN (RFC 8141: no NID): the
// schemas are compiled on their own, keyed by action and direction (they have no `$ref`).
const compiled = new Map<string, ValidateFunction>(
  schemas.map(({ $id, ...schema }) => [$id.replace(/^urn:/, ''), ajv.compile(schema)]),
);

export function validator(action: string, kind: 'req' | 'conf'): ValidateFunction {
  const v = compiled.get(`${action}.${kind}`);
  if (!v) throw new Error(`no OCPP 1.6 schema for ${action}.${kind}`);
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
