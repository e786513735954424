/**
 * Debian's chromium for the console's browser tests and the console bench, driven by
 * playwright-core (which never downloads a browser of its own), and the console's login form.
 * The flags keep chromium off the network: no background connections, no component updates.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches Debian's chromium headless; a machine without it fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`bash scripts/install-test-deps.sh\``);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Fills and sends the console's login form (the page shows it without a session). */
export async function logIn(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.fill('#login input[name=username]', who.username);
  await page.fill('#login input[name=password]', who.password);
  await page.click('#login button[type=submit]');
}
