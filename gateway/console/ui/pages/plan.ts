/**
 * The site plan: without a picture, an SVG drawn from the site file (each building a block, its
 * zones inside, every device a dot coloured by its state: online, offline, unknown, in an alarm);
 * with an uploaded plan picture, the picture with the devices placed on it. The alarm's devices are
 * highlighted (`data-highlight`). Admins upload the picture and drag devices onto it.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { addStyle } from '../lib/page-style.js';

export interface PlanDevice {
  id: string;
  family: string;
  building?: string;
  zone?: string;
  state: 'online' | 'offline' | 'unknown';
  alarm?: string;
}

export interface Plan {
  devices: PlanDevice[];
  image?: { type: string; updatedAt: string };
  positions: Record<string, { x: number; y: number }>;
}

const COLOURS: Record<string, string> = {
  online: '#2e7d32',
  offline: '#757575',
  unknown: '#455a64',
  critical: '#e53935',
  major: '#fb8c00',
  warning: '#fdd835',
  info: '#1e88e5',
};
const colour = (d: PlanDevice): string => COLOURS[d.alarm ?? d.state] ?? COLOURS.unknown!;
const IMAGE_MAX = 8 * 1024 * 1024;

addStyle(
  'plan',
  `.plan svg { width: 100%; height: auto; background: #0c0f12; border-radius: 6px; }
.plan .hl circle.ring { animation: pulse 1s infinite alternate; }
@keyframes pulse { from { stroke-opacity: 1; } to { stroke-opacity: .2; } }
.plan-image { position: relative; display: inline-block; max-width: 100%; }
.plan-image.admin { touch-action: none; }
.plan-image img { max-width: 100%; display: block; border-radius: 6px; }
.plan-image .dot { position: absolute; width: 22px; height: 22px; margin: -11px 0 0 -11px; border-radius: 50%;
  border: 2px solid #fff; cursor: default; }
.plan-image .dot.hl { box-shadow: 0 0 0 5px #ffeb3b; }
.plan-admin { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .5rem 0; }
.plan-admin .chip { padding: .3rem .6rem; border-radius: 14px; background: #2a313a; cursor: grab; touch-action: none; }
.plan-image.admin .dot { cursor: grab; }`,
);

/** PUT/DELETE of the plan API (the shared `api()` sends only JSON GET/POST); rejects with the server's message. */
async function change(method: 'PUT' | 'DELETE', path: string, body: BodyInit, type: string): Promise<void> {
  const res = await fetch(`/console/api${path}`, { method, body, headers: { 'content-type': type } });
  if (!res.ok) throw new Error(((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.statusText);
}

/** The plan of the site; `highlight` are the devices of the alarm shown. */
export function SitePlan({ admin, highlight }: { admin: boolean; highlight: ReadonlySet<string> }) {
  const [plan, setPlan] = useState<Plan | undefined>();
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    api<Plan>('GET', '/plan').then(setPlan, (err: Error) => setError(err.message));
  }, [version]);
  if (error) return h('p', { class: 'error' }, t('error.generic', { error }));
  if (!plan) return h('p', null, t('app.loading'));
  return h(
    'div',
    { class: 'plan', id: 'plan' },
    plan.image ? h(PlanImage, { plan, admin, highlight, changed: reload }) : h(PlanSvg, { devices: plan.devices, highlight }),
    admin && h(Upload, { hasImage: !!plan.image, changed: reload }),
  );
}

/** The generated plan: buildings side by side (four a row), zones stacked, a line per device. */
export function PlanSvg({ devices, highlight }: { devices: PlanDevice[]; highlight: ReadonlySet<string> }) {
  const buildings = new Map<string, Map<string, PlanDevice[]>>();
  for (const d of devices) {
    if (d.family === 'gateway') continue;
    const b = d.building ?? t('plan.noBuilding');
    const zones = buildings.get(b) ?? new Map<string, PlanDevice[]>();
    zones.set(d.zone ?? '', [...(zones.get(d.zone ?? '') ?? []), d]);
    buildings.set(b, zones);
  }
  // Four buildings a row on the duty PC, one on a phone (the drawing scales to the width).
  const perRow = matchMedia('(max-width: 700px)').matches ? 1 : 4;
  const W = 320, LINE = 26, HEAD = 34, ZONE = 26, GAP = 16, COLS = Math.min(perRow, Math.max(1, buildings.size));
  const blocks = [...buildings].sort(([a], [b]) => a.localeCompare(b)).map(([name, zones]) => {
    const list = [...zones].sort(([a], [b]) => a.localeCompare(b));
    return { name, zones: list, height: HEAD + list.reduce((s, [, ds]) => s + ZONE + ds.length * LINE + 6, 0) };
  });
  const rows: (typeof blocks)[] = [];
  blocks.forEach((b, i) => (rows[Math.floor(i / COLS)] ??= []).push(b));
  let y = GAP;
  const drawn = rows.flatMap((row) => {
    const top = y;
    y += Math.max(...row.map((b) => b.height)) + GAP;
    return row.map((b, i) => {
      const x = GAP + i * (W + GAP);
      let zy = top + HEAD;
      return h(
        'g',
        { key: b.name, 'data-building': b.name },
        h('rect', { x, y: top, width: W, height: b.height, rx: 8, fill: '#1c2128', stroke: '#3a424d' }),
        h('text', { x: x + 12, y: top + 24, fill: '#eef1f4', 'font-size': 20, 'font-weight': 700 }, b.name),
        b.zones.map(([zone, ds]) => {
          const zTop = zy;
          zy += ZONE + ds.length * LINE + 6;
          return h(
            'g',
            { key: zone, 'data-zone': zone },
            h('rect', { x: x + 8, y: zTop, width: W - 16, height: ZONE + ds.length * LINE, rx: 4, fill: '#232a33' }),
            h('text', { x: x + 16, y: zTop + 18, fill: '#9aa4af', 'font-size': 15 }, zone || t('plan.noZone')),
            ds.map((d, k) => {
              const cy = zTop + ZONE + k * LINE + LINE / 2;
              const hl = highlight.has(d.id);
              return h(
                'g',
                { key: d.id, class: hl ? 'hl' : '', 'data-device': d.id, 'data-state': d.alarm ? 'alarm' : d.state, 'data-highlight': String(hl) },
                h('title', null, `${d.id} · ${d.family}`),
                hl && h('circle', { class: 'ring', cx: x + 30, cy, r: 12, fill: 'none', stroke: '#ffeb3b', 'stroke-width': 3 }),
                h('circle', { cx: x + 30, cy, r: 8, fill: colour(d) }),
                h('text', { x: x + 48, y: cy + 5, fill: hl ? '#ffeb3b' : '#eef1f4', 'font-size': 15, 'font-weight': hl ? 700 : 400 }, d.id),
              );
            }),
          );
        }),
      );
    });
  });
  const width = GAP + COLS * (W + GAP);
  return h('svg', { viewBox: `0 0 ${width} ${Math.max(y, 60)}`, role: 'img', 'aria-label': t('plan.title') }, drawn);
}

/** The uploaded picture with the placed devices; admins drag dots (or chips of unplaced devices) onto it. */
function PlanImage(p: { plan: Plan; admin: boolean; highlight: ReadonlySet<string>; changed(): void }) {
  const box = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ id: string; x: number; y: number } | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    if (!drag) return;
    const where = (e: PointerEvent) => {
      const r = box.current!.getBoundingClientRect();
      return { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height };
    };
    const move = (e: PointerEvent) => setDrag({ id: drag.id, ...where(e) });
    const up = (e: PointerEvent) => {
      const at = where(e);
      setDrag(undefined);
      if (at.x < 0 || at.x > 1 || at.y < 0 || at.y > 1) return;
      void change('PUT', `/plan/positions/${encodeURIComponent(drag.id)}`, JSON.stringify(at), 'application/json').then(
        () => p.changed(),
        (err: Error) => setError(err.message),
      );
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    return () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
  }, [drag?.id]);
  const start = (id: string) => (e: PointerEvent) => {
    if (!p.admin) return;
    e.preventDefault();
    setDrag({ id, x: -1, y: -1 });
  };
  const devices = p.plan.devices.filter((d) => d.family !== 'gateway');
  const placed = devices.filter((d) => p.plan.positions[d.id] || drag?.id === d.id);
  const unplaced = devices.filter((d) => !p.plan.positions[d.id]);
  return h(
    'div',
    null,
    h(
      'div',
      { class: `plan-image${p.admin ? ' admin' : ''}`, ref: box },
      h('img', { src: `/console/api/plan/image?v=${encodeURIComponent(p.plan.image!.updatedAt)}`, alt: t('plan.title'), draggable: false }),
      placed.map((d) => {
        const at = drag?.id === d.id && drag.x >= 0 ? drag : p.plan.positions[d.id];
        if (!at) return null;
        const hl = p.highlight.has(d.id);
        return h('span', {
          key: d.id,
          class: `dot${hl ? ' hl' : ''}`,
          title: `${d.id} · ${[d.building, d.zone].filter(Boolean).join(' ')}`,
          'data-device': d.id,
          'data-state': d.alarm ? 'alarm' : d.state,
          'data-highlight': String(hl),
          style: { left: `${at.x * 100}%`, top: `${at.y * 100}%`, background: colour(d) },
          onPointerDown: start(d.id),
        });
      }),
    ),
    p.admin &&
      unplaced.length > 0 &&
      h(
        'div',
        { class: 'plan-admin' },
        h('span', null, t('plan.dragHint')),
        unplaced.map((d) => h('span', { key: d.id, class: 'chip', 'data-place': d.id, onPointerDown: start(d.id) }, d.id)),
      ),
    error && h('p', { class: 'error' }, t('error.generic', { error })),
  );
}

function Upload({ hasImage, changed }: { hasImage: boolean; changed(): void }) {
  const [error, setError] = useState('');
  const send = async (file: File | undefined) => {
    if (!file) return;
    if (!['image/png', 'image/jpeg'].includes(file.type)) return setError(t('plan.uploadType'));
    if (file.size > IMAGE_MAX) return setError(t('plan.uploadTooLarge', { mb: IMAGE_MAX / 1024 / 1024 }));
    await change('PUT', '/plan/image', file, file.type).then(
      () => {
        setError('');
        changed();
      },
      (err: Error) => setError(t('error.generic', { error: err.message })),
    );
  };
  const remove = () => {
    if (!confirm(t('plan.removeConfirm'))) return;
    change('DELETE', '/plan/image', '{}', 'application/json').then(changed, (err: Error) => setError(err.message));
  };
  return h(
    'div',
    { class: 'plan-admin' },
    h('label', null, hasImage ? t('plan.replace') : t('plan.upload'), ' ', h('input', {
      type: 'file',
      accept: 'image/png,image/jpeg',
      id: 'plan-upload',
      style: { width: 'auto' },
      onChange: (e: Event) => void send((e.target as HTMLInputElement).files?.[0]),
    })),
    hasImage && h('button', { class: 'link', onClick: remove }, t('plan.remove')),
    error && h('span', { class: 'error' }, error),
  );
}
