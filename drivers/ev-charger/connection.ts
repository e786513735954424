/**
 * Charge point connections on the driver's own listener: the host upgrades the WebSocket (its
 * refusals counted, its message size bound), then ocpp-rpc (strict mode: every call and answer
 * of both sides checked against the OCPP 1.6 JSON schemas) speaks OCPP-J on it.
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { createRPCError, RPCClient } from 'ocpp-rpc';
import type { WebSocket } from 'ws';
import { decoyHash, type ParsedHash, parsePasswordHash, verifyPasswordAsync } from '../../gateway/devices/driver-api.js';

export const SUBPROTOCOL = 'ocpp1.6';
/** The path of one charge point: OCPP-J appends the charge point id to the central system's URL. */
export const PATH = /^\/ocpp\/([^/]+)$/;

type ServerClientClass = new (
  options: Record<string, unknown>,
  conn: { ws: WebSocket; handshake: Record<string, unknown>; session: Record<string, unknown> },
) => RPCClient;
export interface Ocpp {
  /** ocpp-rpc's client of one charge point, on a socket the host already upgraded. */
  client(ws: WebSocket, identity: string, callTimeoutMs: number): RPCClient;
  rpcError: typeof createRPCError;
}

let loaded: Ocpp | undefined;

/**
 * ocpp-rpc, loaded when a driver instance first needs it: the library compiles its schemas as it
 * loads, which every `gateway` command reading the family registry would otherwise pay for.
 */
export async function loadOcpp(): Promise<Ocpp> {
  if (loaded) return loaded;
  const { createRPCError } = await import('ocpp-rpc');
  const ServerClient = createRequire(import.meta.url)('ocpp-rpc/lib/server-client.js') as ServerClientClass;
  loaded = { client: (ws, identity, ms) => ocppClient(ServerClient, ws, identity, ms), rpcError: createRPCError };
  return loaded;
}

function ocppClient(RPCServerClient: ServerClientClass, ws: WebSocket, identity: string, callTimeoutMs: number): RPCClient {
  return new RPCServerClient(
    {
      identity,
      reconnect: false,
      callTimeoutMs,
      pingIntervalMs: 30_000,
      deferPingsOnActivity: false,
      respondWithDetailedErrors: false,
      callConcurrency: 1,
      strictMode: true,
      strictModeValidators: [],
      maxBadMessages: 20,
      protocols: [SUBPROTOCOL],
    },
    { ws, handshake: { identity }, session: {} },
  );
}

export const chargePointOf = (url: URL): string | undefined => {
  const m = PATH.exec(url.pathname);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
};

/** OCPP 1.6 security profile 1: HTTP Basic, user name = the charge point id. */
export class BasicAuth {
  private readonly hashes = new Map<string, ParsedHash>();
  constructor(devices: readonly { id: string; passwordHash: string }[]) {
    for (const d of devices) this.hashes.set(d.id, parsePasswordHash(d.passwordHash));
  }

  /** Undefined when accepted; otherwise the refusal reason (counted by the host). */
  async check(req: IncomingMessage, id: string | undefined): Promise<string | undefined> {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const m = /^\s*Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(req.headers.authorization ?? '');
    const userPass = m ? Buffer.from(m[1]!, 'base64') : undefined;
    const prefix = Buffer.from(`${id ?? ''}:`);
    const password =
      userPass && userPass.subarray(0, prefix.length).equals(prefix) ? userPass.subarray(prefix.length) : undefined;
    const known = id === undefined ? undefined : this.hashes.get(id);
    // The same scrypt work whether or not the id exists: the answer's timing reveals nothing.
    const ok = await verifyPasswordAsync(password ?? Buffer.alloc(0), known ?? decoyHash());
    if (!known) return 'unknown-sender';
    if (!password || !ok) return 'auth';
    // ws would pick the client's first protocol: refuse one that cannot speak OCPP 1.6 here.
    if (!offered.includes(SUBPROTOCOL)) return 'subprotocol';
    return undefined;
  }
}
