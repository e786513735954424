/**
 * The Events page (`#/events`, duty staff): the event history, newest first, filtered by time
 * range, type (a dotted start: `gas`, `access.denied`), device and building, page by page; and
 * the filtered set as a CSV file for Excel (times in this browser's time zone).
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { DeviceRow } from '../../api-devices.js';
import type { EventEnvelope } from '../../../core/envelope.js';
import { api } from '../lib/api.js';
import { lang, t } from '../lib/i18n.js';
import { EventTable } from './device.js';

const PAGE = 50;
const DAY_MS = 86_400_000;

interface Filter {
  since: string;
  until: string;
  type: string;
  device: string;
  building: string;
}

/** `2026-05-01T08:00` (a datetime-local input's value) of an epoch ms, in local time. */
export function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** The API's query string of a filter (local input times as ISO). */
export function queryOf(f: Filter): URLSearchParams {
  const q = new URLSearchParams();
  if (f.since) q.set('since', new Date(f.since).toISOString());
  if (f.until) q.set('until', new Date(f.until).toISOString());
  for (const k of ['type', 'device', 'building'] as const) if (f[k].trim()) q.set(k, f[k].trim());
  return q;
}

export function EventsPage() {
  const [filter, setFilter] = useState<Filter>({ since: localInput(Date.now() - DAY_MS), until: '', type: '', device: '', building: '' });
  const [applied, setApplied] = useState(filter);
  const [events, setEvents] = useState<EventEnvelope[] | undefined>();
  const [next, setNext] = useState<number | undefined>();
  const [error, setError] = useState('');
  const [exporting, setExporting] = useState(false);
  const [devices, setDevices] = useState<DeviceRow[]>([]);
  useEffect(() => {
    api<{ devices: DeviceRow[] }>('GET', '/devices').then((r) => setDevices(r.devices), () => setDevices([]));
  }, []);

  const load = (f: Filter, before?: number) => {
    const q = queryOf(f);
    q.set('limit', String(PAGE));
    if (before) q.set('before', String(before));
    setError('');
    return api<{ events: EventEnvelope[]; next?: number }>('GET', `/events?${q}`).then(
      (r) => {
        setEvents((old) => (before ? [...(old ?? []), ...r.events] : r.events));
        setNext(r.next);
      },
      (err: Error) => setError(err.message),
    );
  };
  useEffect(() => {
    void load(applied);
  }, [applied]);

  const exportCsv = async () => {
    const q = queryOf(applied);
    q.set('tz', String(-new Date().getTimezoneOffset()));
    q.set('lang', lang());
    setExporting(true);
    setError('');
    try {
      const res = await fetch(`/console/api/events.csv?${q}`, { credentials: 'same-origin' });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new Error(body.error ?? res.statusText);
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'events.csv';
      const url = URL.createObjectURL(await res.blob());
      const a = Object.assign(document.createElement('a'), { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setExporting(false);
    }
  };

  const field = (k: keyof Filter, label: string, attrs: Record<string, unknown> = {}) =>
    h(
      'label',
      null,
      label,
      h('input', {
        name: k,
        value: filter[k],
        onInput: (e: Event) => setFilter({ ...filter, [k]: (e.target as HTMLInputElement).value }),
        ...attrs,
      }),
    );
  const buildings = [...new Set(devices.map((d) => d.building).filter((b): b is string => !!b))].sort();
  return h(
    'div',
    { class: 'devices', id: 'events' },
    h(
      'form',
      {
        class: 'tools filters',
        id: 'event-filters',
        onSubmit: (e: Event) => {
          e.preventDefault();
          setApplied({ ...filter });
        },
      },
      field('since', t('events.since'), { type: 'datetime-local' }),
      field('until', t('events.until'), { type: 'datetime-local' }),
      field('type', t('events.type'), { placeholder: t('events.typeHint') }),
      field('device', t('events.device'), { list: 'event-devices' }),
      h(
        'datalist',
        { id: 'event-devices' },
        devices.map((d) => h('option', { key: d.id, value: d.id }, d.name ?? '')),
      ),
      h(
        'label',
        null,
        t('events.building'),
        h(
          'select',
          { name: 'building', value: filter.building, onChange: (e: Event) => setFilter({ ...filter, building: (e.target as HTMLSelectElement).value }) },
          h('option', { value: '' }, t('events.allBuildings')),
          buildings.map((b) => h('option', { key: b, value: b }, b)),
        ),
      ),
      h('button', { type: 'submit', class: 'primary' }, t('events.search')),
      h('button', { type: 'button', id: 'export-csv', disabled: exporting, onClick: () => void exportCsv() }, exporting ? t('events.exporting') : t('events.export')),
    ),
    error && h('p', { class: 'error', id: 'events-error' }, t('error.generic', { error })),
    events === undefined ? h('p', null, t('app.loading')) : h(EventTable, { events, showDevice: true }),
    next !== undefined && h('button', { id: 'events-more', onClick: () => void load(applied, next) }, t('events.more')),
  );
}
