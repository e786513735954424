/**
 * The link from an alarm to its detail on the site page: `?alarm=<id>#/site` (the hash routes
 * pages, the query names the alarm, so the address can be shared). Opening it from the inbox
 * keeps the page loaded (no reload, the sound stays on).
 */
export const SITE_PATH = '/site';

export const alarmHref = (id: string): string => `?alarm=${encodeURIComponent(id)}#${SITE_PATH}`;

/** The alarm the site page shows, if any. */
export const shownAlarm = (): string | undefined => new URLSearchParams(location.search).get('alarm') ?? undefined;

/** Whether the site page shows this alarm now. */
export const isShown = (id: string): boolean => location.hash === `#${SITE_PATH}` && shownAlarm() === id;

export function openAlarm(id: string | undefined): void {
  const search = id ? `?alarm=${encodeURIComponent(id)}` : '';
  history.pushState(null, '', `${location.pathname}${search}#${SITE_PATH}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
