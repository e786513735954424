/**
 * The site page (`#/site`): the site plan of every device and, for an alarm opened from the inbox
 * (`?alarm=<id>#/site`), its detail: the alarm card (duty actions, history), where it is on the
 * plan (its devices highlighted), the actions that fit its devices and place (each confirmed,
 * audited by the server), the linked camera's snapshot and live picture, and the recent readings
 * of its device.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Alarm, AlarmHistoryEntry } from '../../../core/alarm-types.js';
import { openAlarm, shownAlarm } from '../lib/alarm-link.js';
import { api, type Me, mayDo } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { LiveView } from '../lib/live-view.js';
import { addStyle } from '../lib/page-style.js';
import { AlarmCard } from './alarm-card.js';
import { ReadingsChart } from './device.js';
import { DeviceActions } from './device-actions.js';
import { SitePlan } from './plan.js';

const REFRESH_MS = 10_000;

addStyle(
  'detail',
  `.detail { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; align-items: start; }
.detail > * { min-width: 0; }
.detail section { background: #1c2128; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
.detail h3 { margin: 0 0 .6rem; }
.detail .snapshot { max-width: 100%; border-radius: 6px; display: block; }
.detail .live canvas { width: 100%; height: auto; background: #000; border-radius: 6px; }
.detail-nav { display: flex; gap: 1rem; margin-bottom: .8rem; }
.detail .readings { overflow: hidden; }
@media (max-width: 900px) { .detail { grid-template-columns: 1fr; } .detail-side { order: -1; } }`,
);

export function AlarmDetailPage({ me }: { me: Me }) {
  const id = shownAlarm();
  const [alarm, setAlarm] = useState<Alarm | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    setAlarm(undefined);
    if (!id) return;
    const load = () => api<Alarm>('GET', `/alarms/${encodeURIComponent(id)}`).then(setAlarm, (err: Error) => setError(err.message));
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [id]);
  const admin = mayDo(me.role, 'admin');
  const highlight = new Set(alarm ? [alarm.device.id, ...alarm.devices] : []);
  const plan = h('section', null, h('h3', null, t('plan.title')), h(SitePlan, { admin, highlight }));
  if (!id) return h('div', { id: 'site' }, plan);
  const camera = alarm && lastSnapshot(alarm.history);
  return h(
    'div',
    { id: 'site', 'data-alarm': id },
    h(
      'nav',
      { class: 'detail-nav' },
      h('a', { href: '#/', class: 'link' }, t('detail.back')),
      h('button', { class: 'link', onClick: () => openAlarm(undefined) }, t('detail.wholePlan')),
    ),
    error && h('p', { class: 'error' }, t('error.generic', { error })),
    alarm &&
      h(
        'div',
        { class: 'detail' },
        h(
          'div',
          { class: 'detail-main' },
          plan,
          h(ReadingsChart, { id: alarm.device.id }),
        ),
        h(
          'div',
          { class: 'detail-side' },
          h(AlarmCard, { alarm }),
          h('section', null, h('h3', null, t('detail.actions')), h(DeviceActions, { alarm })),
          camera && h(Camera, camera),
        ),
      ),
  );
}

/** The newest `camera.link` outcome of the alarm's history that holds a snapshot. */
function lastSnapshot(history: AlarmHistoryEntry[]): { camera: string; snapshot: string; preset?: string } | undefined {
  for (const e of [...history].reverse()) {
    const d = (e.detail ?? {}) as { command?: string; target?: string; data?: { camera?: string; snapshot?: string; preset?: string } };
    if (e.what === 'action' && d.command === 'camera.link' && d.data?.snapshot) {
      return { camera: d.data.camera ?? d.target ?? '', snapshot: d.data.snapshot, preset: d.data.preset };
    }
  }
  return undefined;
}

function Camera({ camera, snapshot, preset }: { camera: string; snapshot: string; preset?: string }) {
  const [live, setLive] = useState(false);
  return h(
    'section',
    { class: 'camera', 'data-camera': camera },
    h('h3', null, t('detail.camera', { camera }), preset ? ` · ${preset}` : ''),
    live
      ? h(LiveView, { camera })
      : h('img', { class: 'snapshot', src: `/console/api/files/${encodeURIComponent(snapshot)}`, alt: t('detail.snapshot') }),
    h('button', { 'data-action': 'live', onClick: () => setLive(!live) }, live ? t('detail.showSnapshot') : t('detail.showLive')),
  );
}

