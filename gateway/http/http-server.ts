/** Operations endpoints: `GET /healthz` (JSON, 200 when ready, 503 otherwise) and `GET /metrics` (Prometheus). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HttpOptions {
  host: string;
  port: number;
  health: () => { ok: boolean; [k: string]: unknown };
  registry: Registry;
}

/** A GET route added by a component (e.g. the alarm console at /alarms). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

export async function startHttp(o: HttpOptions): Promise<{
  server: Server;
  url: string;
  route(path: string, handler: RouteHandler): void;
  close(): Promise<void>;
}> {
  const routes = new Map<string, RouteHandler>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = o.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      return;
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        (err) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    const handler = routes.get(path ?? '');
    if (handler) {
      handler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    route: (path, handler) => void routes.set(path, handler),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
