import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../gateway/testing/wait-for.js';
import { DEMO_PEOPLE } from './compound.js';
import { GateSimulator } from './simulator.js';

const run = promisify(execFile);
const sims: GateSimulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

async function gate() {
  const sim = new GateSimulator({ username: 'admin', password: 'Adm1n pass', doors: 2, people: DEMO_PEOPLE, openMs: 100 });
  await sim.start();
  sims.push(sim);
  return sim;
}

/** curl with Digest (an independent ISAPI client): status and body. */
async function curl(url: string, method: string, body?: string, user = 'admin:Adm1n pass') {
  const args = ['-s', '--digest', '-u', user, '-X', method, '-w', '\n%{http_code}', url];
  if (body !== undefined) args.push('-H', body.startsWith('{') ? 'content-type: application/json' : 'content-type: application/xml', '--data-binary', body);
  const { stdout } = await run('curl', args);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

const search = (position: number, max = 30, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    AcsEventCond: { searchID: 's1', searchResultPosition: position, maxResults: max, major: 0, minor: 0, startTime: '2000-01-01T00:00:00+08:00', endTime: '2100-01-01T00:00:00+08:00', ...extra },
  });

describe('simulated ISAPI access terminal, driven by curl --digest', () => {
  it('opens a door on PUT RemoteControl/door/<n> and lists it in the AcsEvent search', async () => {
    const sim = await gate();
    const xml = '<RemoteControlDoor version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><cmd>open</cmd></RemoteControlDoor>';
    const put = await curl(`${sim.url}/ISAPI/AccessControl/RemoteControl/door/1`, 'PUT', xml);
    expect(put.status).toBe(200);
    expect(put.body).toMatch(/<statusCode>1<\/statusCode><statusString>OK<\/statusString>/);
    expect(sim.model.state().doors[0]).toMatchObject({ open: true });
    await waitFor('the door closes by itself', () => !sim.model.state().doors[0]!.open);

    const res = await curl(`${sim.url}/ISAPI/AccessControl/AcsEvent?format=json`, 'POST', search(0));
    expect(res.status).toBe(200);
    const { AcsEvent } = JSON.parse(res.body);
    expect(AcsEvent).toMatchObject({ searchID: 's1', responseStatusStrg: 'OK', numOfMatches: 3, totalMatches: 3 });
    expect(AcsEvent.InfoList.map((e: { major: number; minor: number }) => [e.major, e.minor])).toEqual([
      [3, 0x400], // remote open
      [5, 0x19], // door open normal
      [5, 0x1a], // door close normal
    ]);
    expect(AcsEvent.InfoList[0]).toMatchObject({ serialNo: 1, doorNo: 1, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/) });

    // JSON body too; always-close keeps a pass from opening the door.
    expect((await curl(`${sim.url}/ISAPI/AccessControl/RemoteControl/door/2`, 'PUT', '{"RemoteControlDoor":{"cmd":"alwaysClose"}}')).status).toBe(200);
    sim.model.face('1001', 2);
    expect(sim.model.state().doors[1]).toMatchObject({ mode: 'always-close', open: false });
  });

  it('pages the search by searchResultPosition: MORE, then OK, then NO MATCH', async () => {
    const sim = await gate();
    for (let i = 0; i < 45; i++) sim.model.card(`x${i}`);
    const page = async (pos: number) => JSON.parse((await curl(`${sim.url}/ISAPI/AccessControl/AcsEvent?format=json`, 'POST', search(pos, 50))).body).AcsEvent;
    const p1 = await page(0);
    expect(p1).toMatchObject({ responseStatusStrg: 'MORE', numOfMatches: 30, totalMatches: 45 });
    const p2 = await page(30);
    expect(p2).toMatchObject({ responseStatusStrg: 'OK', numOfMatches: 15 });
    expect([...p1.InfoList, ...p2.InfoList].map((e: { serialNo: number }) => e.serialNo)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(await page(45)).toMatchObject({ responseStatusStrg: 'NO MATCH', numOfMatches: 0 });
    const future = await curl(`${sim.url}/ISAPI/AccessControl/AcsEvent?format=json`, 'POST', search(0, 30, { startTime: '2099-01-01T00:00:00+08:00' }));
    expect(JSON.parse(future.body).AcsEvent).toMatchObject({ responseStatusStrg: 'NO MATCH' });
  });

  it('refuses a wrong password, a bad search condition, an unknown door or command', async () => {
    const sim = await gate();
    expect((await curl(`${sim.url}/ISAPI/System/deviceInfo`, 'GET', undefined, 'admin:nope')).status).toBe(401);
    expect((await curl(`${sim.url}/ISAPI/System/deviceInfo`, 'GET')).body).toMatch(/<DeviceInfo /);
    const bad = await curl(`${sim.url}/ISAPI/AccessControl/AcsEvent?format=json`, 'POST', '{"AcsEventCond":{"searchID":"s","maxResults":"ten"}}');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ subStatusCode: 'badParameters', errorMsg: /maxResults/ });
    const door9 = await curl(`${sim.url}/ISAPI/AccessControl/RemoteControl/door/9`, 'PUT', '<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>');
    expect(door9.status).toBe(400);
    expect(door9.body).toMatch(/doorNoError/);
    const cmd = await curl(`${sim.url}/ISAPI/AccessControl/RemoteControl/door/1`, 'PUT', '<RemoteControlDoor><cmd>explode</cmd></RemoteControlDoor>');
    expect(cmd.status).toBe(400);
    expect(sim.model.history).toEqual([]);
  });
});
