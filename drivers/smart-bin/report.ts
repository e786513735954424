/**
 * The sorting report the community committee reads: `gateway bins report`.
 *
 * - `--household <id>`: that household's drops per category: count, weight, share sorted correctly;
 * - `--by building`: per building: households, drops, kg per category, correct-sorting rate.
 *
 * A household is its `householdId`, or `card:<cardId>` for a drop made with a card that names no
 * household. Headers are in Chinese, `--lang en` switches them to English.
 */
import { parseArgs } from 'node:util';
import type { DriverStore, FamilyCli } from '../../gateway/devices/driver-api.js';
import { type DropRecord, dropsSince } from './drops.js';
import { CATEGORIES, type Category, type SmartBinConfig } from './schema.js';

const LABELS = {
  zh: {
    category: '类别', drops: '投放次数', kg: '重量(kg)', correct: '正确分类率', building: '楼栋', households: '户数',
    total: '合计', none: '（无）', cats: { recyclable: '可回收物', kitchen: '厨余垃圾', hazardous: '有害垃圾', other: '其他垃圾' },
    household: (id: string, days: string) => `住户 ${id} 垃圾分类投放（近 ${days}）`,
    byBuilding: (days: string) => `各楼栋垃圾分类投放汇总（近 ${days}）`,
  },
  en: {
    category: 'category', drops: 'drops', kg: 'kg', correct: 'sorted correctly', building: 'building', households: 'households',
    total: 'total', none: '(none)', cats: { recyclable: 'recyclable', kitchen: 'kitchen', hazardous: 'hazardous', other: 'other' },
    household: (id: string, days: string) => `Household ${id}: waste drops over the last ${days}`,
    byBuilding: (days: string) => `Waste drops per building over the last ${days}`,
  },
} as const;
export type Lang = keyof typeof LABELS;

export const householdOf = (r: DropRecord): string => r.householdId ?? `card:${r.cardId}`;

export interface Totals {
  drops: number;
  grams: number;
  correct: number;
}
const add = (t: Totals, r: DropRecord): void => {
  t.drops++;
  t.grams += r.weightG;
  if (r.correct) t.correct++;
};
const zero = (): Totals => ({ drops: 0, grams: 0, correct: 0 });

/** One household's totals per category. */
export function householdSummary(drops: readonly DropRecord[], household: string): Record<Category, Totals> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, zero()])) as Record<Category, Totals>;
  for (const r of drops) if (householdOf(r) === household) add(out[r.category], r);
  return out;
}

export interface BuildingSummary {
  building: string;
  households: number;
  total: Totals;
  grams: Record<Category, number>;
}

/** Totals per building (a station without a building counts under "-"), sorted by building. */
export function buildingSummary(drops: readonly DropRecord[]): BuildingSummary[] {
  const by = new Map<string, { households: Set<string>; total: Totals; grams: Record<Category, number> }>();
  for (const r of drops) {
    const b = r.building ?? '-';
    let s = by.get(b);
    if (!s) by.set(b, (s = { households: new Set(), total: zero(), grams: { recyclable: 0, kitchen: 0, hazardous: 0, other: 0 } }));
    s.households.add(householdOf(r));
    add(s.total, r);
    s.grams[r.category] += r.weightG;
  }
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([building, s]) => ({ building, households: s.households.size, total: s.total, grams: s.grams }));
}

const kg = (g: number): string => (g / 1000).toFixed(1);
const rate = (t: Totals): string => (t.drops === 0 ? '-' : `${Math.round((100 * t.correct) / t.drops)}%`);

/** Display width: CJK and full-width characters take two columns. */
const width = (s: string): number => [...s].reduce((n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
const pad = (s: string, w: number, right: boolean): string => (right ? ' '.repeat(w - width(s)) + s : s + ' '.repeat(w - width(s)));

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (r: readonly string[]) => r.map((c, i) => pad(c, w[i]!, i > 0)).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function formatHousehold(drops: readonly DropRecord[], household: string, days: string, lang: Lang): string {
  const L = LABELS[lang];
  const s = householdSummary(drops, household);
  const total = zero();
  for (const t of Object.values(s)) {
    total.drops += t.drops;
    total.grams += t.grams;
    total.correct += t.correct;
  }
  if (total.drops === 0) return `${L.household(household, days)}\n${L.none}`;
  const rows = CATEGORIES.filter((c) => s[c].drops > 0).map((c) => [L.cats[c], String(s[c].drops), kg(s[c].grams), rate(s[c])]);
  rows.push([L.total, String(total.drops), kg(total.grams), rate(total)]);
  return `${L.household(household, days)}\n${table([L.category, L.drops, L.kg, L.correct], rows)}`;
}

export function formatByBuilding(drops: readonly DropRecord[], days: string, lang: Lang): string {
  const L = LABELS[lang];
  const s = buildingSummary(drops);
  if (s.length === 0) return `${L.byBuilding(days)}\n${L.none}`;
  const header = [L.building, L.households, L.drops, ...CATEGORIES.map((c) => `${L.cats[c]}(kg)`), L.correct];
  const rows = s.map((b) => [b.building, String(b.households), String(b.total.drops), ...CATEGORIES.map((c) => kg(b.grams[c])), rate(b.total)]);
  return `${L.byBuilding(days)}\n${table(header, rows)}`;
}

const USAGE = `gateway bins report --config <site.yaml> (--household <id> | --by building) [--since 30d] [--lang zh|en]`;

/** `--since 30d`: a whole number of days (the committee reports by days). */
function parseDays(s: string): number {
  const m = /^(\d{1,4})d$/.exec(s);
  if (!m || Number(m[1]) === 0) throw new Error(`--since must be a number of days such as 30d, got "${s}"`);
  return Number(m[1]);
}

/** Every drop of the site's smart-bin instances since `since` (ms). */
export function allDrops(stores: readonly DriverStore[], since: number): DropRecord[] {
  return stores.flatMap((s) => dropsSince(s, since));
}

export const BINS_CLI: FamilyCli<SmartBinConfig> = {
  name: 'bins',
  usage: `${USAGE}\n      waste sorting per household, or per building, from the smart-bin drop records`,
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { household: { type: 'string' }, by: { type: 'string' }, since: { type: 'string' }, lang: { type: 'string' } },
    });
    if (positionals[0] !== 'report' || positionals.length !== 1) throw new Error(`expected "report"; usage: ${USAGE}`);
    if ((values.household === undefined) === (values.by === undefined)) throw new Error(`give --household <id> or --by building; usage: ${USAGE}`);
    if (values.by !== undefined && values.by !== 'building') throw new Error(`--by takes "building", got "${values.by}"`);
    const lang = values.lang ?? 'zh';
    if (lang !== 'zh' && lang !== 'en') throw new Error(`--lang takes zh or en, got "${lang}"`);
    if (ctx.drivers.length === 0) throw new Error('the site file has no smart-bin driver: no drop records to report on');
    const days = parseDays(values.since ?? '30d');
    const label = lang === 'zh' ? `${days} 天` : `${days} days`;
    const drops = allDrops(ctx.drivers.map((d) => ctx.store(d.id)), ctx.now() - days * 86_400_000);
    return values.household !== undefined ? formatHousehold(drops, values.household, label, lang) : formatByBuilding(drops, label, lang);
  },
};
