/**
 * Night motion: the site-file window (`nightMotion: { from: '22:00', to: '06:00' }`, local hours
 * of the site's time zone, across midnight when `to` is before `from`) and which motion counts
 * (`zones:` names rules or zones the camera reports). Pure functions of the time.
 */
import { z } from 'zod';

const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time of day like 22:00 (HH:MM, 24 h)');

export const NightMotion = z
  .strictObject({
    from: LocalTime.describe('start of the night, local time of the site (site.timezone)'),
    to: LocalTime.describe('end of the night (before from: the window crosses midnight)'),
    zones: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('only motion of these rules or zones counts (names the camera reports); absent: any motion'),
  })
  .refine((n) => n.from !== n.to, { message: 'from and to are the same time: give a window, e.g. from 22:00 to 06:00', path: ['to'] });
export type NightMotion = z.infer<typeof NightMotion>;

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

const formats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight at wall time `t` in the IANA zone `tz`. */
export function localMinutes(t: number, tz: string): number {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(t).map((p) => [p.type, p.value]));
  return Number(parts.hour) * 60 + Number(parts.minute);
}

/** Whether wall time `t` is inside the night window (from inclusive, to exclusive) in the zone `tz`. */
export function isNight(n: Pick<NightMotion, 'from' | 'to'>, t: number, tz: string): boolean {
  const now = localMinutes(t, tz);
  const from = minutesOf(n.from);
  const to = minutesOf(n.to);
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/** Whether motion named by `rule` / `zone` counts for the window (any motion when it names no zones). */
export function counts(n: NightMotion, names: { rule?: string; zone?: string }): boolean {
  if (!n.zones) return true;
  return [names.rule, names.zone].some((x) => x !== undefined && n.zones!.includes(x));
}
