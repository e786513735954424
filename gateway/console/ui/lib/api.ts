/** Calls of the console API (`/console/api/...`) with the session cookie; errors carry the server's message. */

/** Dispatched on window when the server says the session is gone (the app then shows the login page). */
export const LOGGED_OUT = 'console:logged-out';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/console/api${path}`, {
    method,
    credentials: 'same-origin',
    ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }),
  });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as { error?: string; retryAfterMs?: number };
  if (!res.ok) {
    if (res.status === 401 && path !== '/login') window.dispatchEvent(new Event(LOGGED_OUT));
    throw new ApiError(res.status, data.error ?? res.statusText, data.retryAfterMs);
  }
  return data as T;
}

export interface Me {
  user: string;
  role: string;
  idleTimeoutMs: number;
}

/** Mirrors the server's rule: admins may do all a reader may. */
export const mayDo = (role: string, needed: 'reader' | 'admin'): boolean =>
  needed === 'reader' ? role === 'reader' || role === 'admin' : role === 'admin';
