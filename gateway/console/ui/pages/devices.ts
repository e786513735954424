/**
 * The Devices page (`#/devices`, duty staff): every configured device grouped by building, zone
 * or family, with its availability (and why it is offline), last contact, battery, open faults and
 * alarms, and the counts per group; a search box over id, name, building, zone and family. A click
 * opens the device (`?device=<id>#/devices`: the address can be shared; Back returns to the list).
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { DeviceRow } from '../../api-devices.js';
import { api, type Me } from '../lib/api.js';
import { t, when } from '../lib/i18n.js';
import { availability, DevicePage, place } from './device.js';

type GroupBy = 'building' | 'zone' | 'family';
const REFRESH_MS = 30_000;

const shownDevice = (): string | undefined => new URLSearchParams(location.search).get('device') ?? undefined;

/** Opens a device (or the list, for undefined) as a new browser history entry. */
function showDevice(id: string | undefined): void {
  history.pushState(null, '', `${location.pathname}${id ? `?device=${encodeURIComponent(id)}` : ''}#/devices`);
}

function groupOf(d: DeviceRow, by: GroupBy): string {
  if (by === 'family') return d.family;
  if (by === 'zone') return place(d) || t('devices.noPlace');
  return d.building ?? t('devices.noPlace');
}

export function matches(d: DeviceRow, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [d.id, d.name, d.building, d.zone, d.family].some((v) => v?.toLowerCase().includes(q));
}

export function DevicesPage({ me }: { me: Me }) {
  const [selected, setSelected] = useState(shownDevice());
  useEffect(() => {
    const sync = () => setSelected(shownDevice());
    window.addEventListener('popstate', sync);
    return () => window.removeEventListener('popstate', sync);
  }, []);
  const open = (id: string | undefined) => {
    showDevice(id);
    setSelected(id);
  };
  if (selected) return h(DevicePage, { id: selected, me, onBack: () => open(undefined) });
  return h(DeviceList, { onOpen: open });
}

function DeviceList({ onOpen }: { onOpen: (id: string) => void }) {
  const [devices, setDevices] = useState<DeviceRow[] | undefined>();
  const [error, setError] = useState('');
  const [query, setQuery] = useState('');
  const [by, setBy] = useState<GroupBy>('building');
  useEffect(() => {
    const load = () =>
      api<{ devices: DeviceRow[] }>('GET', '/devices').then(
        (r) => {
          setDevices(r.devices);
          setError('');
        },
        (err: Error) => setError(err.message),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const shown = (devices ?? []).filter((d) => matches(d, query));
  const groups = new Map<string, DeviceRow[]>();
  for (const d of shown) groups.set(groupOf(d, by), [...(groups.get(groupOf(d, by)) ?? []), d]);
  const keys = [...groups.keys()].sort((a, b) => a.localeCompare(b, 'zh-CN'));
  return h(
    'div',
    { class: 'devices', id: 'devices' },
    h(
      'div',
      { class: 'tools' },
      h('input', {
        id: 'device-search',
        type: 'search',
        placeholder: t('devices.search'),
        value: query,
        onInput: (e: Event) => setQuery((e.target as HTMLInputElement).value),
      }),
      h(
        'span',
        { class: 'seg' },
        t('devices.groupBy'),
        ' ',
        (['building', 'zone', 'family'] as const).map((g) =>
          h(
            'button',
            { key: g, class: by === g ? 'on' : '', 'data-group': g, onClick: () => setBy(g) },
            g === 'building' ? t('devices.byBuilding') : g === 'zone' ? t('devices.byZone') : t('devices.byFamily'),
          ),
        ),
      ),
      devices && h('span', { class: 'muted' }, t('devices.total', { shown: shown.length, all: devices.length })),
    ),
    error && h('p', { class: 'error' }, t('error.generic', { error })),
    !devices && !error && h('p', null, t('app.loading')),
    devices && !shown.length && h('p', { class: 'empty' }, t('devices.none')),
    keys.map((k) => h(Group, { key: k, name: k, devices: groups.get(k)!, onOpen })),
  );
}

function Group({ name, devices, onOpen }: { name: string; devices: DeviceRow[]; onOpen: (id: string) => void }) {
  const offline = devices.filter((d) => d.online === false).length;
  const faults = devices.reduce((n, d) => n + d.faults, 0);
  const alarms = devices.reduce((n, d) => n + d.alarms, 0);
  return h(
    'section',
    { class: 'group', 'data-group-name': name },
    h(
      'h3',
      null,
      name,
      h('small', null, t('devices.groupCounts', { n: devices.length, offline, faults, alarms })),
    ),
    h(
      'table',
      null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, t('devices.device')),
          h('th', { class: 'wide' }, t('devices.family')),
          h('th', { class: 'wide' }, t('devices.place')),
          h('th', null, t('devices.status')),
          h('th', { class: 'wide' }, t('devices.lastSeen')),
          h('th', null, t('devices.battery')),
          h('th', null, t('devices.faults')),
          h('th', null, t('devices.alarms')),
        ),
      ),
      h(
        'tbody',
        null,
        devices.map((d) => {
          const a = availability(d);
          return h(
            'tr',
            { key: d.id, 'data-device': d.id, onClick: () => onOpen(d.id) },
            h('td', null, h('strong', null, d.id), d.name && h('div', { class: 'muted' }, d.name)),
            h('td', { class: 'wide' }, d.family),
            h('td', { class: 'wide' }, place(d)),
            h('td', { class: a.cls }, a.text),
            h('td', { class: 'wide' }, d.lastSeen ? when(d.lastSeen) : '—'),
            h('td', { class: d.battery !== undefined && d.battery < 20 ? 'count-bad' : '' }, d.battery === undefined ? '—' : `${d.battery}%`),
            h('td', { class: d.faults ? 'count-bad' : '' }, d.faults),
            h('td', { class: d.alarms ? 'count-bad' : '' }, d.alarms),
          );
        }),
      ),
    ),
  );
}
