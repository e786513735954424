/**
 * The actions that fit an alarm (the server's list for this user's role: open or hold open the
 * place's gates, silence its sirens, close the gas valve, cut the charging port...), each run only
 * after a confirmation dialog; the server audits every one.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Alarm } from '../../../core/alarm-types.js';
import type { OfferedAction } from '../../api-actions.js';
import { api } from '../lib/api.js';
import { t } from '../lib/i18n.js';
import { addStyle } from '../lib/page-style.js';

const COMMAND_TEXT: Record<string, () => string> = {
  'door.open': () => t('cmd.door.open'),
  'door.always-open': () => t('cmd.door.always-open'),
  'door.resume': () => t('cmd.door.resume'),
  'siren.off': () => t('cmd.siren.off'),
  'siren.on': () => t('cmd.siren.on'),
  'valve.close': () => t('cmd.valve.close'),
  'valve.open': () => t('cmd.valve.open'),
  'port.cut': () => t('cmd.port.cut'),
  'port.restore': () => t('cmd.port.restore'),
  'remote-stop': () => t('cmd.remote-stop'),
};
export const commandText = (c: string): string => COMMAND_TEXT[c]?.() ?? c;

addStyle(
  'actions',
  `.device-actions { display: grid; gap: .5rem; }
.device-actions .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.device-actions .row .where { flex: 1 1 12rem; color: #9aa4af; }
.device-actions button.admin { border-style: dashed; }
.dialog-back { position: fixed; inset: 0; background: #000a; display: grid; place-items: center; z-index: 10; }
.dialog { background: #1c2128; border: 2px solid #e65100; border-radius: 8px; padding: 1.2rem; max-width: 520px; width: 92vw; }
.dialog p { font-size: 1.2rem; }
.dialog .buttons { display: flex; gap: .8rem; justify-content: flex-end; }
.ok { color: #81c784; }`,
);

export function DeviceActions({ alarm }: { alarm: Pick<Alarm, 'id'> }) {
  const [actions, setActions] = useState<OfferedAction[] | undefined>();
  const [asking, setAsking] = useState<OfferedAction | undefined>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();
  useEffect(() => {
    api<{ actions: OfferedAction[] }>('GET', `/alarms/${encodeURIComponent(alarm.id)}/actions`).then(
      (r) => setActions(r.actions),
      (err: Error) => setOutcome({ ok: false, text: t('error.generic', { error: err.message }) }),
    );
  }, [alarm.id]);
  const run = async (a: OfferedAction) => {
    setBusy(true);
    try {
      await api('POST', `/devices/${encodeURIComponent(a.device)}/commands/${encodeURIComponent(a.command)}`, {
        args: a.args,
        confirm: true,
        alarm: alarm.id,
      });
      setOutcome({ ok: true, text: t('actions.done', { action: commandText(a.command), device: a.device }) });
    } catch (err) {
      setOutcome({ ok: false, text: t('error.generic', { error: (err as Error).message }) });
    } finally {
      setBusy(false);
      setAsking(undefined);
    }
  };
  if (!actions) return h('p', null, t('app.loading'));
  return h(
    'div',
    { class: 'device-actions', id: 'device-actions' },
    actions.length === 0 && h('p', { class: 'empty' }, t('actions.none')),
    actions.map((a) =>
      h(
        'div',
        { class: 'row', key: `${a.device} ${a.command}` },
        h('span', { class: 'where' }, `${a.device} · ${[a.building, a.zone].filter(Boolean).join(' ')}`),
        h(
          'button',
          { class: a.role === 'admin' ? 'admin' : 'primary', 'data-device': a.device, 'data-command': a.command, onClick: () => setAsking(a) },
          commandText(a.command),
        ),
      ),
    ),
    outcome && h('p', { class: outcome.ok ? 'ok' : 'error', role: 'status', id: 'action-outcome' }, outcome.text),
    asking &&
      h(
        'div',
        { class: 'dialog-back' },
        h(
          'div',
          { class: 'dialog', role: 'dialog', 'aria-modal': 'true', id: 'confirm-action' },
          h('p', null, t('actions.confirm', { action: commandText(asking.command), device: asking.device })),
          h(
            'div',
            { class: 'buttons' },
            h('button', { 'data-confirm': 'no', onClick: () => setAsking(undefined), disabled: busy }, t('actions.cancel')),
            h('button', { class: 'primary', 'data-confirm': 'yes', onClick: () => void run(asking), disabled: busy }, t('actions.run')),
          ),
        ),
      ),
  );
}
