/**
 * One device (opened from the Devices page): its configuration facts (family, model, building,
 * zone, tags), availability, battery, its active alarms, a chart of its telemetry over the last
 * 24 h (every numeric field: gas %LEL, a pile port's current, a lamp's power) and its recent
 * events, page by page.
 */
import { type ComponentChildren, h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeviceRow, Readings } from '../../api-devices.js';
import type { Alarm } from '../../../core/alarm-types.js';
import type { EventEnvelope } from '../../../core/envelope.js';
import { api, type Me } from '../lib/api.js';
import { type ChartSeries, lineChart, type LineChart } from '../lib/chart.js';
import { t, when } from '../lib/i18n.js';
import { addStyle } from '../lib/page-style.js';

const REFRESH_MS = 30_000;
const PAGE = 20;

/** Names of the telemetry fields the families report (others are shown as their key). */
const FIELDS: Record<string, () => string> = {
  lel: () => t('field.lel'),
  current: () => t('field.current'),
  voltage: () => t('field.voltage'),
  power: () => t('field.power'),
  energy: () => t('field.energy'),
  temperature: () => t('field.temperature'),
  battery: () => t('field.battery'),
  rssi: () => t('field.rssi'),
  snr: () => t('field.snr'),
  lowAlarm: () => t('field.lowAlarm'),
  highAlarm: () => t('field.highAlarm'),
};

/** The Devices, device and Events pages' CSS. */
const CSS = `.devices .tools { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin-bottom: 1rem; }
.devices .tools input { max-width: 24rem; }
.devices .group, .device-page .group { background: var(--panel); border-radius: 6px; padding: .6rem 1rem; margin-bottom: 1rem; }
.devices .group h3, .device-page .group h3 { margin: .2rem 0 .5rem; display: flex; gap: 1rem; flex-wrap: wrap; align-items: baseline; }
.devices .group h3 small, .device-page h2 small { color: var(--muted); font-weight: normal; }
.devices table, .device-page table { width: 100%; border-collapse: collapse; }
.devices th, .devices td, .device-page th, .device-page td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #2c333c; vertical-align: top; }
.devices tbody tr { cursor: pointer; }
.devices tbody tr:hover { background: #2a313a; }
.st-online { color: #81c784; } .st-offline { color: #ff8a80; font-weight: 600; } .st-unknown { color: var(--muted); }
.devices .muted, .device-page .muted { color: var(--muted); }
.count-bad { color: #ff8a80; font-weight: 600; }
.filters { align-items: end !important; }
.filters label { display: grid; gap: .2rem; color: var(--muted); }
.filters select { font: inherit; color: var(--text); background: #0c0f12; border: 1px solid #3a424d; border-radius: 6px; padding: .6rem; }
.events code { white-space: pre-wrap; word-break: break-all; font-size: .85rem; }
.seg button.on { background: #3a424d; font-weight: 600; }
@media (max-width: 700px) { .devices .wide, .device-page .wide { display: none; } }`;

addStyle('devices', CSS);

export function availability(d: DeviceRow): { cls: string; text: string } {
  if (d.online === null) return { cls: 'st-unknown', text: t('devices.unknown') };
  if (d.online) return { cls: 'st-online', text: t('devices.online') };
  return { cls: 'st-offline', text: d.reason ? t('devices.offlineWhy', { reason: d.reason }) : t('devices.offline') };
}

export const place = (d: { building?: string; zone?: string }): string => [d.building, d.zone].filter(Boolean).join(' ');

export function seriesOf(readings: readonly Readings[]): ChartSeries[] {
  return readings.map((r) => {
    const name = FIELDS[r.field]?.() ?? r.field;
    return {
      label: r.part ? t('device.part', { name, part: r.part.key, n: r.part.value }) : name,
      points: r.points,
    };
  });
}

export function DevicePage({ id, onBack }: { id: string; me: Me; onBack: () => void }) {
  const [info, setInfo] = useState<{ device: DeviceRow; alarms: Alarm[] } | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    setInfo(undefined);
    const load = () =>
      api<{ device: DeviceRow; alarms: Alarm[] }>('GET', `/devices/${encodeURIComponent(id)}`).then(setInfo, (err: Error) =>
        setError(err.message),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [id]);
  const d = info?.device;
  return h(
    'div',
    { class: 'device-page', id: 'device', 'data-device': id },
    h('button', { class: 'link', id: 'back-to-devices', onClick: onBack }, t('device.back')),
    h('h2', null, id, d?.name && h('small', { class: 'muted' }, ` ${d.name}`)),
    error && h('p', { class: 'error' }, t('error.generic', { error })),
    !info && !error && h('p', null, t('app.loading')),
    d && h(Facts, { d }),
    info && h(ActiveAlarms, { alarms: info.alarms }),
    h(ReadingsChart, { id }),
    h(DeviceEvents, { id }),
  );
}

function Facts({ d }: { d: DeviceRow }) {
  const a = availability(d);
  const row = (label: string, value: ComponentChildren, cls = '') => h('tr', null, h('th', null, label), h('td', { class: cls }, value));
  return h(
    'section',
    { class: 'group' },
    h(
      'table',
      { class: 'facts' },
      h(
        'tbody',
        null,
        row(t('devices.family'), d.family),
        d.model && row(t('device.model'), d.model),
        row(t('devices.place'), place(d) || '—'),
        row(t('device.tags'), d.tags.join(', ') || '—'),
        row(t('devices.status'), [a.text, d.since ? ` (${t('device.since', { at: when(d.since) })})` : ''], a.cls),
        row(t('devices.lastSeen'), d.lastSeen ? when(d.lastSeen) : '—'),
        d.battery !== undefined && row(t('devices.battery'), `${d.battery}% (${when(d.batteryAt!)})`),
      ),
    ),
  );
}

function ActiveAlarms({ alarms }: { alarms: Alarm[] }) {
  return h(
    'section',
    { class: 'group', id: 'device-alarms' },
    h('h3', null, t('device.alarms', { n: alarms.length })),
    alarms.length === 0
      ? h('p', { class: 'muted' }, t('device.noAlarms'))
      : h(
          'ul',
          null,
          alarms.map((a) =>
            h(
              'li',
              { key: a.id, class: `sev-${a.severity}` },
              h('strong', null, a.message),
              ' · ',
              when(a.raisedAt),
              a.acknowledged ? ` · ${t('alarm.ackedBy', { by: a.acknowledged.by, at: when(a.acknowledged.at) })}` : '',
            ),
          ),
        ),
  );
}

/** A device's readings of the last 24 h as a chart (also on the alarm detail). */
export function ReadingsChart({ id }: { id: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<LineChart | undefined>(undefined);
  const [state, setState] = useState<'loading' | 'empty' | 'shown' | 'error'>('loading');
  const [truncated, setTruncated] = useState(false);
  useEffect(() => {
    const load = () =>
      api<{ series: Readings[]; truncated: boolean }>('GET', `/devices/${encodeURIComponent(id)}/series?hours=24`).then(
        (r) => {
          setTruncated(r.truncated);
          if (!r.series.length || !el.current) return setState('empty');
          const series = seriesOf(r.series);
          if (chart.current) chart.current.update(series);
          else chart.current = lineChart(el.current, series, { height: 260 });
          setState('shown');
        },
        () => setState('error'),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      clearInterval(timer);
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, [id]);
  return h(
    'section',
    { class: 'group', id: 'device-readings', 'data-state': state },
    h('h3', null, t('device.readings')),
    state === 'loading' && h('p', null, t('app.loading')),
    state === 'empty' && h('p', { class: 'muted' }, t('device.noReadings')),
    state === 'error' && h('p', { class: 'error' }, t('device.readingsFailed')),
    truncated && h('p', { class: 'muted' }, t('device.readingsTruncated')),
    h('div', { ref: el, class: 'chart' }),
  );
}

function DeviceEvents({ id }: { id: string }) {
  const [events, setEvents] = useState<EventEnvelope[]>([]);
  const [next, setNext] = useState<number | undefined>();
  const [error, setError] = useState('');
  const load = (before?: number) =>
    api<{ events: EventEnvelope[]; next?: number }>(
      'GET',
      `/devices/${encodeURIComponent(id)}/events?limit=${PAGE}${before ? `&before=${before}` : ''}`,
    ).then(
      (r) => {
        setEvents((old) => (before ? [...old, ...r.events] : r.events));
        setNext(r.next);
      },
      (err: Error) => setError(err.message),
    );
  useEffect(() => {
    void load();
  }, [id]);
  return h(
    'section',
    { class: 'group', id: 'device-events' },
    h('h3', null, t('device.events')),
    error && h('p', { class: 'error' }, t('error.generic', { error })),
    h(EventTable, { events, showDevice: false }),
    next !== undefined && h('button', { id: 'device-events-more', onClick: () => void load(next) }, t('events.more')),
  );
}

/** A table of events (also the Events page's). */
export function EventTable({ events, showDevice }: { events: EventEnvelope[]; showDevice: boolean }) {
  if (!events.length) return h('p', { class: 'muted empty' }, t('events.none'));
  return h(
    'table',
    { class: 'events' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, t('events.at')),
        h('th', null, t('events.type')),
        h('th', { class: 'wide' }, t('events.severity')),
        showDevice && h('th', null, t('events.device')),
        showDevice && h('th', { class: 'wide' }, t('devices.place')),
        h('th', null, t('events.data')),
      ),
    ),
    h(
      'tbody',
      null,
      events.map((e) =>
        h(
          'tr',
          { key: e.seq, 'data-seq': e.seq, 'data-type': e.type },
          h('td', null, when(e.receivedAt), e.historical && h('small', { class: 'muted' }, ` ${t('events.historical')}`)),
          h('td', null, e.type),
          h('td', { class: `wide sev-${e.severity}` }, e.severity),
          showDevice && h('td', null, e.device.id),
          showDevice && h('td', { class: 'wide' }, place(e.device)),
          h('td', null, h('code', null, JSON.stringify(e.data))),
        ),
      ),
    ),
  );
}
