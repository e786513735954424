/**
 * UI text: every string goes through `t(<key>)`; `{name}` placeholders are filled from `vars`.
 * zh-CN is the default; the choice is remembered in localStorage. A new page adds its keys to
 * both dictionaries (i18n/zh-CN.ts, i18n/en.ts); i18n.test.ts fails on a key missing in either.
 */
import { en } from '../i18n/en.js';
import { zhCN } from '../i18n/zh-CN.js';

export type Lang = 'zh-CN' | 'en';
export const LANGS: Record<Lang, Record<string, string>> = { 'zh-CN': zhCN, en };
const STORE_KEY = 'console.lang';

let current: Lang = 'zh-CN';
try {
  const saved = localStorage.getItem(STORE_KEY);
  if (saved === 'en' || saved === 'zh-CN') current = saved;
} catch {
  // no storage (private mode): the default stays
}

export const lang = (): Lang => current;

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(STORE_KEY, l);
  } catch {
    // not remembered, still switched
  }
}

export function t(key: string, vars: Record<string, string | number> = {}): string {
  const text = LANGS[current][key] ?? LANGS['zh-CN'][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** Local date and time of an ISO time or epoch ms, in the UI's language. */
export const when = (at: string | number): string =>
  new Date(at).toLocaleString(current, { hour12: false, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
