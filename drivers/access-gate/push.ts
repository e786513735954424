/**
 * The body of a terminal's event push (ISAPI HTTP listening): `multipart/form-data` with the
 * event notification as a JSON part (named `event_log` or `AccessControllerEvent` by the
 * firmware, or typed application/json) and an optional JPEG picture part, or the notification
 * alone as `application/json`. Anything else is a refusal with its reason and HTTP status.
 */
import { MultipartError, parseMultipart } from '../http/multipart.js';
import { EventNotification } from './normalise.js';

/** Largest push accepted: the notification and one picture. */
export const MAX_PUSH_BYTES = 4 * 1024 * 1024;
export const PUSH_LIMITS = { maxParts: 4, maxFieldBytes: 64 * 1024, maxFileBytes: 3 * 1024 * 1024 };

const JSON_PART_NAMES = new Set(['event_log', 'AccessControllerEvent']);

export type ParsedPush =
  | { ok: true; notification: EventNotification; picture?: Buffer }
  | { ok: false; reason: 'shape' | 'too-large'; status: 400 | 413 | 415; message: string };

const refuse = (message: string, status: 400 | 415 = 400): ParsedPush => ({ ok: false, reason: 'shape', status, message });

export async function parsePush(body: Buffer, contentType: string | undefined): Promise<ParsedPush> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let json: Buffer | undefined;
  let picture: Buffer | undefined;
  if (type === 'multipart/form-data') {
    let parts;
    try {
      parts = await parseMultipart(body, contentType, PUSH_LIMITS);
    } catch (err) {
      if (!(err instanceof MultipartError)) throw err;
      return { ok: false, reason: err.reason, status: err.reason === 'too-large' ? 413 : 400, message: err.message };
    }
    json = parts.find((p) => !p.filename && (JSON_PART_NAMES.has(p.name) || p.mimeType === 'application/json'))?.data;
    picture = parts.find((p) => p.mimeType === 'image/jpeg' && p.data.length > 0)?.data;
    if (!json) return refuse(`no event part: expected a JSON part named ${[...JSON_PART_NAMES].join(' or ')}`);
  } else if (type === 'application/json') {
    json = body;
  } else {
    return refuse(`Content-Type "${type || 'none'}": expected multipart/form-data or application/json`, 415);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch {
    return refuse('the event part is not JSON');
  }
  const parsed = EventNotification.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return refuse(`not an ISAPI event notification: ${issues}`);
  }
  return { ok: true, notification: parsed.data, ...(picture ? { picture } : {}) };
}
