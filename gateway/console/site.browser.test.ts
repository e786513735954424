/**
 * The site pages in a real browser (Debian's chromium via playwright-core) against the real
 * gateway and the compound simulator: from an emergency-button alarm in B3's lobby, its detail
 * shows the device highlighted on the site plan and the actions that fit its place; opening B3's
 * east gate is confirmed first and reaches the ISAPI gate simulator (and the audit trail); a
 * reader sees no admin-only action (siren on). The overview shows the counts of the API.
 */

import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PASSWORD, CONSOLE_USER, type Scenario, scenarioSite, startScenario } from '../e2e/testing/scenario.js';
import { waitFor } from '../testing/wait-for.js';
import { launchChromium, logIn } from './testing/browser.js';

const SLOW = { timeout: 20_000 };

describe('site pages in the browser', () => {
  let s: Scenario;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    const config = await scenarioSite();
    s = await startScenario(config);
    page = await (await browser.newContext({ viewport: { width: 1920, height: 1080 } })).newPage();
    await page.goto(`${s.gw.http.url}/console/`);
    await logIn(page, { username: CONSOLE_USER, password: CONSOLE_PASSWORD });
    await page.waitForSelector(`.shell[data-user="${CONSOLE_USER}"]`, SLOW);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('from an alarm: the plan with its device, the fitting actions, a confirmed gate opening that reaches the gate', async () => {
    await s.control('sos-b3-lobby', { press: true });
    const card = page.locator('article[data-rule="button-pressed"]');
    await card.waitFor(SLOW);
    await card.locator('[data-action=detail]').click();
    await page.waitForSelector('#site[data-alarm]', SLOW);
    await page.waitForSelector('#plan [data-device="sos-b3-lobby"][data-highlight="true"]', SLOW);
    expect(await page.locator('#plan [data-highlight="true"]').count()).toBe(1);
    expect(await page.locator('#plan [data-device="gate-b1"][data-highlight="false"]').count()).toBe(1);

    // B3's gates and its lobby siren; no gate of another building, no admin-only action for a reader.
    const actions = page.locator('#device-actions');
    await actions.locator('[data-command="door.open"]').first().waitFor(SLOW);
    expect(await actions.locator('[data-device="gate-b3-east"][data-command="door.open"]').count()).toBe(1);
    expect(await actions.locator('[data-device="siren-b3-lobby"][data-command="siren.off"]').count()).toBe(1);
    expect(await actions.locator('[data-device="gate-b1"]').count()).toBe(0);
    expect(await actions.locator('[data-command="siren.on"]').count()).toBe(0);

    const records = async () => ((await s.control('gate-b3-east')) as { records: number }).records;
    const before = await records();
    await actions.locator('[data-device="gate-b3-east"][data-command="door.open"]').click();
    await page.waitForSelector('#confirm-action', SLOW);
    expect(await page.textContent('#confirm-action')).toContain('gate-b3-east');
    await page.click('#confirm-action [data-confirm="no"]');
    expect(await page.locator('#confirm-action').count()).toBe(0);
    expect(await records()).toBe(before);

    await actions.locator('[data-device="gate-b3-east"][data-command="door.open"]').click();
    await page.click('#confirm-action [data-confirm="yes"]');
    await page.waitForSelector('#action-outcome.ok', SLOW);
    await waitFor('the gate simulator got the remote open', async () => (await records()) > before, { timeoutMs: 20_000 });
    const audit = s.gw.journal.db.prepare("SELECT * FROM console_audit WHERE action = 'door.open'").all();
    expect(audit).toEqual([expect.objectContaining({ user: CONSOLE_USER, role: 'reader', target: 'gate-b3-east', result: 'ok' })]);
  });

  it('the overview shows the counts the API gives', async () => {
    await page.click('a[data-page="/overview"]');
    await page.waitForSelector('#overview', SLOW);
    const api = await page.evaluate(async () => (await fetch('/console/api/overview')).json());
    expect(await page.getAttribute('#ov-open .big', 'data-count')).toBe(String(api.alarms.open.total));
    expect(api.alarms.open.total).toBeGreaterThanOrEqual(1);
    expect(await page.getAttribute('#ov-today .big', 'data-count')).toBe(String(api.alarms.today.total));
    const gates = page.locator('#ov-devices tr[data-family="access-gate"]');
    expect(await gates.getAttribute('data-total')).toBe('4');
    expect(await gates.getAttribute('data-online')).toBe(String(api.devices.find((f: { family: string }) => f.family === 'access-gate').online));
  });
});
