/**
 * The Devices and Events pages in a real browser (Debian's chromium via playwright-core) against
 * the real gateway and the compound simulator (a Modbus gas detector, a LoRaWAN emergency
 * button): a reader searches a device, opens it and sees its readings chart and its events, then
 * filters the event history and downloads it as CSV (UTF-8 with BOM, the filtered rows).
 */
import { readFileSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Scenario, startScenario } from '../e2e/testing/scenario.js';
import { waitFor } from '../testing/wait-for.js';
import { consoleSite, READER } from './testing/console-site.js';
import { launchChromium, logIn } from './testing/browser.js';

const SLOW = { timeout: 20_000 };

describe('devices and events pages in the browser', () => {
  let s: Scenario;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    const config = await consoleSite();
    s = await startScenario(config);
    // Two gas readings for the chart.
    await s.control('gas-b1-101', { lel: 4 });
    await waitFor('a gas reading of 4 %LEL', () => s.gw.journal.query({ device: 'gas-b1-101', type: 'gas.reading' }).some((e) => e.data.lel === 4), { timeoutMs: 20_000 });
    await s.control('gas-b1-101', { lel: 9 });
    await waitFor('a gas reading of 9 %LEL', () => s.gw.journal.query({ device: 'gas-b1-101', type: 'gas.reading' }).some((e) => e.data.lel === 9), { timeoutMs: 20_000 });
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, acceptDownloads: true });
    page = await ctx.newPage();
    await page.goto(`${s.gw.http.url}/console/`);
    await logIn(page, READER);
    await page.waitForSelector(`.shell[data-user="${READER.username}"]`, SLOW);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('a reader searches a device, opens it and sees its readings chart and its events', async () => {
    await page.click('a[data-page="/devices"]');
    await page.waitForSelector('#devices tr[data-device="sos-b3-lobby"]', SLOW);
    await page.fill('#device-search', 'kitchen');
    await page.waitForSelector('#devices tr[data-device="sos-b3-lobby"]', { state: 'detached', ...SLOW });
    expect(await page.locator('#devices tbody tr').count()).toBe(1);
    const row = page.locator('#devices tr[data-device="gas-b1-101"]');
    expect(await row.textContent()).toContain('在线');

    await row.click();
    await page.waitForSelector('#device[data-device="gas-b1-101"]', SLOW);
    expect(new URL(page.url()).search).toBe('?device=gas-b1-101');
    await page.waitForSelector('#device-readings[data-state="shown"] canvas', SLOW);
    expect(await page.textContent('#device-readings')).toContain('燃气浓度（%LEL）');
    // uPlot's stylesheet is in force (the console's CSP refuses inline style elements).
    expect(await page.$eval('#device-readings .u-wrap', (el) => getComputedStyle(el).position)).toBe('relative');
    await page.waitForSelector('#device-events tr[data-type="gas.reading"]', SLOW);
    expect(await page.textContent('#device')).toContain('kitchen-101');

    await page.click('#back-to-devices');
    await page.waitForSelector('#devices tr[data-device="gas-b1-101"]', SLOW);
  });

  it('filters the event history and exports it as CSV', async () => {
    await page.click('a[data-page="/events"]');
    await page.waitForSelector('#events tbody tr', SLOW);
    await page.fill('#event-filters input[name=type]', 'gas.reading');
    await page.click('#event-filters button[type=submit]');
    await waitFor('only gas readings listed', async () => {
      const types = await page.locator('#events tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
      return types.length > 0 && types.every((t) => t === 'gas.reading');
    }, { timeoutMs: 20_000 });

    const [download] = await Promise.all([page.waitForEvent('download', SLOW), page.click('#export-csv')]);
    expect(download.suggestedFilename()).toMatch(/^events-\d{8}-\d{6}\.csv$/);
    const bytes = readFileSync((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.toString('utf8').slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^时间 \(UTC[+-]\d\d:\d\d\),设备时间,序号,类型/);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines.slice(1)) expect(line).toContain(',gas.reading,info,gas-b1-101,gas-detector,B1,kitchen-101,');
  });
});
