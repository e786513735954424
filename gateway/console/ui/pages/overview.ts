/**
 * The big-screen overview (readers): alarms today and open by severity, devices online per
 * family, the city uplink's state and backlog, and a 24 h chart of events and alarms per hour.
 * Refreshes itself every 15 s; large type, readable from across the duty room.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { lineChart } from '../lib/chart.js';
import { t, when } from '../lib/i18n.js';
import { addStyle } from '../lib/page-style.js';

const REFRESH_MS = 15_000;
type Counts = Record<'critical' | 'major' | 'warning' | 'info' | 'total', number>;

interface Overview {
  at: string;
  alarms: { today: Counts; open: Counts };
  devices: { family: string; online: number; offline: number; unknown: number; total: number }[];
  uplink: { state: string; since?: string; lastError?: string; backlog: number; backlogBytes: number } | null;
  hours: { at: string; events: number; alarms: number }[];
}

addStyle(
  'overview',
  `.overview { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1.2rem; font-size: 1.6rem; }
.overview section { background: #1c2128; border-radius: 8px; padding: 1rem 1.4rem; }
.overview h3 { margin: 0 0 .6rem; font-size: 1.5rem; color: #9aa4af; }
.overview .big { font-size: 4.5rem; font-weight: 800; line-height: 1.1; }
.overview .sev { display: flex; gap: 1.2rem; flex-wrap: wrap; }
.overview .sev span { font-weight: 700; }
.overview .sev-critical { color: #ff5252; } .overview .sev-major { color: #ffab40; }
.overview .sev-warning { color: #ffd740; } .overview .sev-info { color: #64b5f6; }
.overview table { width: 100%; border-collapse: collapse; }
.overview td { padding: .2rem .4rem; } .overview td.n { text-align: right; font-weight: 700; }
.overview .link-up { color: #69f0ae; } .overview .link-down { color: #ff5252; }
.overview .wide { grid-column: 1 / -1; overflow: hidden; }
.overview .updated { grid-column: 1 / -1; color: #9aa4af; font-size: 1rem; margin: 0; }`,
);

const severityRow = (c: Counts) =>
  h(
    'div',
    { class: 'sev' },
    (['critical', 'major', 'warning', 'info'] as const).map((s) =>
      h('span', { key: s, class: `sev-${s}`, 'data-severity': s }, `${severityText(s)} ${c[s]}`),
    ),
  );

const severityText = (s: string): string =>
  ({ critical: t('severity.critical'), major: t('severity.major'), warning: t('severity.warning'), info: t('severity.info') })[s] ?? s;

export function OverviewPage() {
  const [o, setO] = useState<Overview | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () =>
      api<Overview>('GET', '/overview').then(
        (r) => {
          setO(r);
          setError('');
        },
        (err: Error) => setError(err.message),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  if (!o) return error ? h('p', { class: 'error' }, t('error.generic', { error })) : h('p', null, t('app.loading'));
  const up = o.uplink?.state === 'connected' || o.uplink?.state === 'online';
  return h(
    'div',
    { class: 'overview', id: 'overview' },
    h(
      'section',
      { id: 'ov-open' },
      h('h3', null, t('overview.open')),
      h('div', { class: 'big', 'data-count': o.alarms.open.total }, o.alarms.open.total),
      severityRow(o.alarms.open),
    ),
    h(
      'section',
      { id: 'ov-today' },
      h('h3', null, t('overview.today')),
      h('div', { class: 'big', 'data-count': o.alarms.today.total }, o.alarms.today.total),
      severityRow(o.alarms.today),
    ),
    h(
      'section',
      { id: 'ov-uplink' },
      h('h3', null, t('overview.uplink')),
      o.uplink
        ? [
            h('div', { class: up ? 'link-up' : 'link-down', 'data-state': o.uplink.state }, o.uplink.state),
            h('div', { 'data-backlog': o.uplink.backlog }, t('overview.backlog', { n: o.uplink.backlog, kb: Math.round(o.uplink.backlogBytes / 1024) })),
            o.uplink.lastError && h('div', { class: 'error' }, o.uplink.lastError),
          ]
        : h('div', null, t('overview.noUplink')),
    ),
    h(
      'section',
      { id: 'ov-devices' },
      h('h3', null, t('overview.devices')),
      h(
        'table',
        null,
        h(
          'tbody',
          null,
          o.devices.map((f) =>
            h(
              'tr',
              { key: f.family, 'data-family': f.family, 'data-online': f.online, 'data-total': f.total },
              h('td', null, f.family),
              h('td', { class: 'n' }, t('overview.online', { online: f.online, total: f.total })),
              h('td', { class: f.offline ? 'n error' : 'n' }, f.offline ? t('overview.offline', { n: f.offline }) : ''),
            ),
          ),
        ),
      ),
    ),
    h('section', { class: 'wide' }, h('h3', null, t('overview.perHour')), h(HourChart, { hours: o.hours })),
    h('p', { class: 'updated' }, t('overview.updated', { at: when(o.at) })),
  );
}

function HourChart({ hours }: { hours: Overview['hours'] }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof lineChart>>();
  const series = [
    { label: t('overview.events'), points: hours.map((x) => [Date.parse(x.at), x.events] as const), color: '#64b5f6' },
    { label: t('overview.alarms'), points: hours.map((x) => [Date.parse(x.at), x.alarms] as const), color: '#ff5252' },
  ];
  useEffect(() => {
    if (!chart.current) chart.current = lineChart(el.current!, series, { height: 300 });
    else chart.current.update(series);
  }, [hours]);
  useEffect(() => () => chart.current?.destroy(), []);
  return h('div', { ref: el });
}
