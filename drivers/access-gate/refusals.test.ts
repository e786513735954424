import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { applyChange } from '../../simulators/access-gate/compound.js';
import { DigestClient, digestResponse, pickChallenge } from '../http/digest.js';
import { PUSH_REALM } from './driver.js';
import { MAX_PUSH_BYTES } from './push.js';
import { type GateRig, pushAccount, refusals, startRig } from './testing/harness.js';

const rigs: GateRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

const notification = (ace: Record<string, unknown>) =>
  JSON.stringify({ eventType: 'AccessControllerEvent', dateTime: '2026-05-01T08:00:00+08:00', AccessControllerEvent: ace });
const GOOD_ACE = { majorEventType: 5, subEventType: 0x4b, serialNo: 1, employeeNoString: '1001', doorNo: 1 };
const B = 'b0undary';
const multipart = (json: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="AccessControllerEvent"\r\nContent-Type: application/json\r\n\r\n${json}\r\n--${B}--\r\n`;

/** Sends a body of `size` bytes, announced in Content-Length, with valid Digest credentials; stops writing when answered. */
async function hugePush(url: string, size: number): Promise<{ status: number; sent: number }> {
  const first = await fetch(url, { method: 'POST' });
  const ch = pickChallenge(first.headers.get('www-authenticate'))!;
  const { username, password } = pushAccount('gate-1');
  const uri = new URL(url).pathname;
  const nc = '00000001';
  const cnonce = 'abcdef0123456789';
  const response = digestResponse({ ...ch, username, password, method: 'POST', uri, nc, cnonce, qop: 'auth' });
  const authorization = `Digest username="${username}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", algorithm=${ch.algorithm}, response="${response}", qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, {
      method: 'POST',
      headers: { authorization, 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': size },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const write = () => {
      while (!answered && sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!answered) req.end();
    };
    write();
  });
}

describe('access-gate listener: bad input is refused, counted and harmless', () => {
  it('answers 4xx to every kind of bad push, counts it by reason, emits nothing, and keeps serving the other terminal', async () => {
    const r: GateRig = await startRig({ gates: ['gate-1', 'gate-2'] });
    rigs.push(r);
    const url = r.pushUrl;
    const gate1 = new DigestClient(pushAccount('gate-1'));
    const post = (client: DigestClient, body: string, type: string) =>
      client.fetch(url, { method: 'POST', body, headers: { 'content-type': type } });

    // No credentials: a challenge for each algorithm offered.
    const none = await fetch(url, { method: 'POST', body: notification(GOOD_ACE), headers: { 'content-type': 'application/json' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(new RegExp(`^Digest realm="${PUSH_REALM}".*algorithm=SHA-256.*Digest .*algorithm=MD5`));
    // Wrong password; a terminal the site file does not know.
    expect((await post(new DigestClient({ ...pushAccount('gate-1'), password: 'guess' }), notification(GOOD_ACE), 'application/json')).status).toBe(401);
    expect((await post(new DigestClient({ username: 'gate-9', password: 'x' }), notification(GOOD_ACE), 'application/json')).status).toBe(401);
    // Authenticated, but not a push: malformed multipart, no boundary, wrong JSON types, not JSON, another type.
    const malformed = await post(gate1, multipart(notification(GOOD_ACE)).slice(0, 60), `multipart/form-data; boundary=${B}`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ errorMsg: /malformed multipart/ });
    expect((await post(gate1, multipart(notification(GOOD_ACE)), 'multipart/form-data')).status).toBe(400);
    const types = await post(gate1, notification({ ...GOOD_ACE, majorEventType: 'five', serialNo: -1 }), 'application/json');
    expect(types.status).toBe(400);
    expect(await types.json()).toMatchObject({ errorMsg: /AccessControllerEvent.majorEventType.*AccessControllerEvent.serialNo/ });
    expect((await post(gate1, '{"eventType":', 'application/json')).status).toBe(400);
    expect((await post(gate1, 'hello', 'text/plain')).status).toBe(415);
    // 50 MB: refused from its Content-Length, long before it is all sent.
    const huge = await hugePush(url, 50 * 1024 * 1024);
    expect(huge.status).toBe(413);
    expect(huge.sent).toBeLessThan(50 * 1024 * 1024);
    // A part over the limit inside a body under it.
    const bigPart = multipart('x'.repeat(MAX_PUSH_BYTES / 8));
    expect((await post(gate1, bigPart, `multipart/form-data; boundary=${B}`)).status).toBe(413);

    // no-credentials: the bare request, and the first request of each of the 4 Digest clients (the
    // challenge step of the handshake is counted under its own reason too).
    expect(await refusals(r.h)).toEqual({ 'no-credentials': 5, auth: 1, 'unknown-sender': 1, shape: 5, 'too-large': 2 });
    expect(r.h.events).toEqual([]);
    expect(r.h.host.status()[0]?.state).toBe('running');

    // The terminals still work: a good push from gate-1's account, and gate-2's own.
    expect((await post(gate1, notification(GOOD_ACE), 'application/json')).status).toBe(200);
    applyChange(r.sims.get('gate-2')!, { face: '1002' });
    await waitFor('gate-2 reports', () => r.h.eventsOf('gate-2', 'access.granted').length === 1);
    expect(r.h.eventsOf('gate-1', 'access.granted')).toHaveLength(1);
  }, 30_000);

  it('a replayed push is refused; a push already reported (same serial) is acknowledged and not reported again', async () => {
    const r = await startRig();
    rigs.push(r);
    const gate1 = new DigestClient(pushAccount('gate-1'));
    const push = () => gate1.fetch(r.pushUrl, { method: 'POST', body: notification(GOOD_ACE), headers: { 'content-type': 'application/json' } });
    expect((await push()).status).toBe(200);
    expect((await push()).status).toBe(200);
    expect(r.h.eventsOf('gate-1')).toHaveLength(1);

    // The very same Authorization header again: a replay.
    const first = await fetch(r.pushUrl, { method: 'POST' });
    const ch = pickChallenge(first.headers.get('www-authenticate'))!;
    const { username, password } = pushAccount('gate-1');
    const response = digestResponse({ ...ch, username, password, method: 'POST', uri: '/ISAPI/events', nc: '00000001', cnonce: 'c', qop: 'auth' });
    const captured = `Digest username="${username}", realm="${ch.realm}", nonce="${ch.nonce}", uri="/ISAPI/events", algorithm=${ch.algorithm}, response="${response}", qop=auth, nc=00000001, cnonce="c"`;
    const again = { method: 'POST', body: notification(GOOD_ACE), headers: { authorization: captured, 'content-type': 'application/json' } };
    expect((await fetch(r.pushUrl, again)).status).toBe(200);
    expect((await fetch(r.pushUrl, again)).status).toBe(401);
    expect(await refusals(r.h)).toMatchObject({ replay: 1 });
  });
});
