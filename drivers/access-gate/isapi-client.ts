/**
 * The gateway's requests to one ISAPI terminal, with Digest authentication, one at a time (small
 * embedded devices; and a nonce count per request in order): device info, remote door control
 * and the AcsEvent search.
 */
import { randomUUID } from 'node:crypto';
import { DigestClient, type DigestCredentials } from '../http/digest.js';
import { type AcsRecord, AcsEventSearchResult, fromSearch } from './normalise.js';

/** The terminal answered, but not with success; the message says what it said. */
export class IsapiError extends Error {
  override readonly name = 'IsapiError';
}

/** `RemoteControlDoor` commands (ISAPI access control). */
export type DoorCmd = 'open' | 'close' | 'alwaysOpen' | 'alwaysClose' | 'resume';

export interface SearchWindow {
  /** ISAPI times, e.g. 2026-05-01T08:00:00+08:00 */
  startTime: string;
  endTime: string;
  pageSize: number;
  maxEvents: number;
}

export interface SearchOutcome {
  records: AcsRecord[];
  /** False when maxEvents stopped the paging before the terminal said OK / NO MATCH. */
  complete: boolean;
}

export class IsapiClient {
  private readonly digest: DigestClient;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly base: string,
    creds: DigestCredentials,
    private readonly timeoutMs: number,
  ) {
    this.base = base.replace(/\/$/, '');
    this.digest = new DigestClient(creds);
  }

  async deviceInfo(): Promise<void> {
    await this.request('GET', '/ISAPI/System/deviceInfo');
  }

  async remoteControl(door: number, cmd: DoorCmd): Promise<void> {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>' +
      `<RemoteControlDoor version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><cmd>${cmd}</cmd></RemoteControlDoor>`;
    await this.request('PUT', `/ISAPI/AccessControl/RemoteControl/door/${door}`, xml, 'application/xml');
  }

  /** Every record in the window, paged by `searchResultPosition` until the terminal says OK or NO MATCH. */
  async searchEvents(w: SearchWindow): Promise<SearchOutcome> {
    const searchID = randomUUID();
    const records: AcsRecord[] = [];
    for (let position = 0; records.length < w.maxEvents; ) {
      const cond = {
        AcsEventCond: {
          searchID,
          searchResultPosition: position,
          maxResults: Math.min(w.pageSize, w.maxEvents - records.length),
          major: 0,
          minor: 0,
          startTime: w.startTime,
          endTime: w.endTime,
        },
      };
      const text = await this.request('POST', '/ISAPI/AccessControl/AcsEvent?format=json', JSON.stringify(cond), 'application/json');
      const page = parseJson(text, 'AcsEvent search answer');
      const parsed = AcsEventSearchResult.safeParse(page);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        throw new IsapiError(`AcsEvent search answer not understood at position ${position}: ${issues}`);
      }
      const { responseStatusStrg, InfoList = [] } = parsed.data.AcsEvent;
      records.push(...InfoList.map(fromSearch));
      if (responseStatusStrg !== 'MORE') return { records, complete: true };
      if (InfoList.length === 0) throw new IsapiError(`AcsEvent search said MORE but gave no record at position ${position}`);
      position += InfoList.length;
    }
    return { records, complete: false };
  }

  /** One request after the previous one finished; resolves with the body of a 2xx answer. */
  private request(method: string, path: string, body?: string, contentType?: string): Promise<string> {
    const run = async () => {
      const res = await this.digest.fetch(`${this.base}${path}`, {
        method,
        ...(body !== undefined ? { body, headers: { 'content-type': contentType ?? 'text/plain' } } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      if (res.status === 401) throw new IsapiError(`${method} ${path}: the terminal refused the gateway's credentials (HTTP 401); check api.username and api.password of this device`);
      if (!res.ok) throw new IsapiError(`${method} ${path}: HTTP ${res.status}${statusOf(text)}`);
      return text;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new IsapiError(`${what} is not JSON: ${text.slice(0, 80)}`);
  }
}

/** The ISAPI `ResponseStatus` of an error answer (XML or JSON), as `: statusString (subStatusCode)`. */
function statusOf(text: string): string {
  const pick = (name: string) =>
    new RegExp(`<${name}>([^<]{1,200})</${name}>`).exec(text)?.[1] ?? new RegExp(`"${name}"\\s*:\\s*"([^"]{1,200})"`).exec(text)?.[1];
  const status = pick('statusString');
  const sub = pick('subStatusCode');
  const msg = pick('errorMsg');
  if (!status && !sub) return '';
  return `: ${status ?? ''}${sub ? ` (${sub})` : ''}${msg ? ` ${msg}` : ''}`;
}
