/** Test helper: a console API client with its own cookie jar, as a browser on the gateway's own origin. */

/** A response as the tests read it (they check its shape with expect). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are asserted by the tests
type Reply = { status: number; body: any; headers: Headers };

export interface ConsoleClient {
  cookie?: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  login(username: string, password: string): Promise<Reply>;
}

export function consoleClient(baseUrl: string): ConsoleClient {
  const c: ConsoleClient = {
    async call(method, path, body, headers = {}) {
      const res = await fetch(`${baseUrl}/console/api${path}`, {
        method,
        headers: {
          ...(method === 'GET' ? {} : { 'content-type': 'application/json', origin: baseUrl }),
          ...(c.cookie ? { cookie: c.cookie } : {}),
          ...headers,
        },
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
      const setCookie = res.headers.get('set-cookie');
      if (setCookie) {
        const [pair] = setCookie.split(';');
        c.cookie = pair!.endsWith('=') ? undefined : pair;
      }
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    login: (username, password) => c.call('POST', '/login', { username, password }),
  };
  return c;
}
