/**
 * What the simulated camera checks and the faults it can be told to make, seen from the npm
 * `onvif` client and from raw SOAP over HTTP on 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cam } from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifCameraSimulator, type OnvifCameraOptions } from './camera.js';

const USER = 'admin';
const PASS = 'Cam-2026!';
const TWO_HOURS = 2 * 3600_000;
let sim: OnvifCameraSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function camera(o: Partial<OnvifCameraOptions> = {}) {
  sim = new OnvifCameraSimulator({ username: USER, password: PASS, ...o });
  await sim.start();
  return sim;
}

function connect(s: OnvifCameraSimulator, extra: { password?: string; useWSSecurity?: boolean } = {}): Promise<Cam> {
  return new Promise((resolve, reject) => {
    const cam: Cam = new Cam(
      { hostname: '127.0.0.1', port: Number(new URL(s.url).port), username: USER, password: PASS, timeout: 20_000, ...extra },
      (err) => (err ? reject(err) : resolve(cam)),
    );
  });
}

/** A GetDeviceInformation request with a UsernameToken whose Created is `created`. */
function soapCall(s: OnvifCameraSimulator, created: Date, password = PASS, nonce = randomBytes(16)) {
  const at = created.toISOString();
  const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(at), Buffer.from(password)])).digest('base64');
  const body =
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>` +
    `<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken>` +
    `<Username>${USER}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password>` +
    `<Nonce>${nonce.toString('base64')}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${at}</Created>` +
    `</UsernameToken></Security></s:Header><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;
  return fetch(`${s.url}/onvif/device_service`, { method: 'POST', headers: { 'content-type': 'application/soap+xml' }, body });
}

describe('the simulated camera checks its callers', { timeout: 60_000 }, () => {
  it('answers a wrong password with a ter:NotAuthorized sender fault (HTTP 400), by WS-Security and by Digest', async () => {
    const s = await camera();
    await expect(connect(s, { password: 'wrong' })).rejects.toThrow(/NotAuthorized|Sender not Authorized/);
    const res = await soapCall(s, new Date(), 'wrong');
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toMatch(/<env:Value>env:Sender<\/env:Value><env:Subcode><env:Value>ter:NotAuthorized<\/env:Value>/);
    expect(xml).toContain('wrong password digest');
    // without WS-Security the onvif client falls back to HTTP Digest on the 401 challenge
    await expect(connect(s, { password: 'wrong', useWSSecurity: false })).rejects.toThrow(/Digest authentication failed 401/);
    await expect(connect(s, { useWSSecurity: false })).resolves.toBeInstanceOf(Cam);
    // the camera's password changed under the client
    s.setPassword('new-one');
    expect((await soapCall(s, new Date())).status).toBe(400);
  });

  it('refuses a replayed UsernameToken; the same Nonce with a new Created passes (as libonvif sends it)', async () => {
    const s = await camera();
    const nonce = randomBytes(16);
    const at = new Date();
    expect((await soapCall(s, at, PASS, nonce)).status).toBe(200);
    const again = await soapCall(s, at, PASS, nonce);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('replayed UsernameToken');
    expect((await soapCall(s, new Date(at.getTime() + 5), PASS, nonce)).status).toBe(200);
  });

  it('refuses a Created time far from its own clock; the onvif client works two hours off through its time shift', async () => {
    const s = await camera({ clockOffsetMs: TWO_HOURS });
    const res = await soapCall(s, new Date());
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/ter:NotAuthorized[\s\S]*-7(?:199|200|201) s from the camera/);
    expect((await soapCall(s, new Date(Date.now() + TWO_HOURS))).status).toBe(200);
    const cam = await connect(s);
    expect(Math.abs(Number(cam.timeShift) + process.uptime() * 1000 - (Date.now() + TWO_HOURS))).toBeLessThan(5_000);
    const info = await new Promise<{ model: string }>((resolve, reject) => cam.getDeviceInformation((e, d) => (e ? reject(e) : resolve(d as { model: string }))));
    expect(info.model).toBe('SV-IPC-T1');
  });

  it('sends malformed answers, injected faults and hangs when told to', async () => {
    const s = await camera();
    const ok = async () => (await soapCall(s, new Date())).text();
    s.malformNext(1, 'not-xml');
    expect(await ok()).not.toContain('<');
    s.malformNext(1, 'truncated');
    const cut = await ok();
    expect(cut.startsWith('<?xml')).toBe(true);
    expect(cut).not.toContain('</env:Envelope>');
    s.faultNext(2, 'ter:ActionNotSupported');
    for (let i = 0; i < 2; i++) expect(await ok()).toContain('<env:Value>env:Receiver</env:Value><env:Subcode><env:Value>ter:ActionNotSupported</env:Value>');
    expect(await ok()).toContain('<tds:Model>SV-IPC-T1</tds:Model>');
    s.setHanging(true);
    const hung = await Promise.race([soapCall(s, new Date()).then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(() => r('no answer'), 1000))]);
    expect(hung).toBe('no answer');
    s.setHanging(false);
    expect(await ok()).toContain('<tds:Model>');
  });

  it('rejects what is not a SOAP 1.2 envelope with a clear fault', async () => {
    const s = await camera();
    const post = (body: string) => fetch(`${s.url}/onvif/device_service`, { method: 'POST', body }).then(async (r) => [r.status, await r.text()] as const);
    const [status, xml] = await post('<not xml');
    expect(status).toBe(400);
    expect(xml).toContain('ter:WellFormed');
    const [, v11] = await post('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetScopes/></s:Body></s:Envelope>');
    expect(v11).toContain('env:VersionMismatch');
  });
});
