/** One line of `gateway doctor`'s table: what was checked, the outcome, and the fix of a failure, in English and Chinese. */

export type Status = 'OK' | 'WARN' | 'FAIL';
export type Lang = 'en' | 'zh-CN';

/** A text in both languages of the report. */
export interface Text {
  en: string;
  zh: string;
}
export const t = (en: string, zh: string): Text => ({ en, zh });

export interface CheckResult {
  /** The kind of check, e.g. "port", "serial", "device". */
  check: Text;
  /** What was checked, e.g. `127.0.0.1:1883 (local broker)`, a device id. */
  target: string;
  status: Status;
  detail: Text;
  /** What to do about a FAIL or WARN. */
  fix?: Text;
}

const HEAD: Record<Lang, [string, string, string, string]> = {
  en: ['status', 'check', 'target', 'result'],
  'zh-CN': ['状态', '检查项', '对象', '结果'],
};

/** The table, each FAIL and WARN followed by its fix, then a summary line. */
export function formatReport(results: readonly CheckResult[], lang: Lang): string {
  const pick = (x: Text) => (lang === 'en' ? x.en : x.zh);
  const rows = results.map((r) => [r.status, pick(r.check), r.target, pick(r.detail)] as const);
  const head = HEAD[lang];
  const width = [0, 1, 2].map((i) => Math.max(displayWidth(head[i]!), ...rows.map((r) => displayWidth(r[i]!))));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - displayWidth(s)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < 3 ? pad(c, width[i]!) : c)).join('  ');
  const out = [line(head)];
  for (const [i, r] of results.entries()) {
    out.push(line(rows[i]!));
    if (r.fix && r.status !== 'OK') out.push(`${' '.repeat(width[0]! + 2)}${lang === 'en' ? 'fix' : '处理'}: ${pick(r.fix)}`);
  }
  const n = (s: Status) => results.filter((r) => r.status === s).length;
  out.push(
    '',
    lang === 'en'
      ? `${n('OK')} OK, ${n('WARN')} WARN, ${n('FAIL')} FAIL${n('FAIL') ? ': fix each FAIL above, then run gateway doctor again' : ''}`
      : `${n('OK')} 项正常，${n('WARN')} 项警告，${n('FAIL')} 项失败${n('FAIL') ? '：请按上面的处理方法逐项修复后再次运行 gateway doctor' : ''}`,
  );
  return out.join('\n');
}

/** Columns a string takes in a terminal: CJK characters take two. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}
