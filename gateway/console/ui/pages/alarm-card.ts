/**
 * One alarm in the inbox: what, where, since when, its escalation tier, the duty actions
 * (acknowledge, resolve, or reset with a note for latched alarms) and, on request, its history with
 * the linkage outcomes (valve closed, gates held open, siren on, SMS sent or failed).
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { Alarm, AlarmHistoryEntry } from '../../../core/alarm-types.js';
import { alarmHref, isShown, openAlarm } from '../lib/alarm-link.js';
import { api } from '../lib/api.js';
import type { AlarmView } from '../lib/feed.js';
import { t, when } from '../lib/i18n.js';

const severityText = (s: string): string =>
  ({ critical: t('severity.critical'), major: t('severity.major'), warning: t('severity.warning'), info: t('severity.info') })[
    s
  ] ?? s;

const stateText = (s: string): string =>
  ({ raised: t('state.raised'), acknowledged: t('state.acknowledged'), resolved: t('state.resolved'), cleared: t('state.cleared') })[s] ??
  s;

export function AlarmCard({ alarm: a }: { alarm: AlarmView }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const [history, setHistory] = useState<AlarmHistoryEntry[] | undefined>();
  const act = async (op: 'ack' | 'resolve' | 'reset') => {
    if (op === 'reset' && !note.trim()) return setError(t('alarm.resetNeedsNote'));
    setError('');
    try {
      await api('POST', `/alarms/${encodeURIComponent(a.id)}/${op}`, { note: note.trim() || undefined });
      setNote('');
    } catch (err) {
      setError(t('error.generic', { error: (err as Error).message }));
    }
  };
  const toggleHistory = async () => {
    if (history) return setHistory(undefined);
    try {
      setHistory((await api<Alarm>('GET', `/alarms/${encodeURIComponent(a.id)}`)).history);
    } catch (err) {
      setError(t('error.generic', { error: (err as Error).message }));
    }
  };
  const where = [a.device.building, a.device.zone].filter(Boolean).join(' ');
  return h(
    'article',
    { class: `alarm sev-${a.severity} st-${a.state}`, 'data-alarm': a.id, 'data-rule': a.rule, 'data-state': a.state },
    h(
      'header',
      null,
      h('span', { class: 'badge' }, severityText(a.severity)),
      h('span', { class: 'state' }, stateText(a.state)),
      a.latch && h('span', { class: 'latch' }, t('alarm.latched')),
      h('time', null, when(a.raisedAt)),
    ),
    h('p', { class: 'message' }, a.message),
    h(
      'p',
      { class: 'meta' },
      `${a.device.id}${where ? ` · ${where}` : ''} · ${t('alarm.count', { n: a.count })} · `,
      h('span', { class: 'tier' }, t('alarm.tier', { tier: a.tier, name: a.tierName })),
      a.nextEscalationAt !== undefined && ` · ${t('alarm.nextEscalation', { at: when(a.nextEscalationAt) })}`,
      a.acknowledged && h('span', { class: 'acked' }, ` · ${t('alarm.ackedBy', { by: a.acknowledged.by, at: when(a.acknowledged.at) })}`),
    ),
    h('textarea', {
      class: 'note',
      placeholder: a.latch ? t('alarm.notePlaceholderReset') : t('alarm.notePlaceholder'),
      value: note,
      onInput: (e: Event) => setNote((e.target as HTMLTextAreaElement).value),
    }),
    h(
      'div',
      { class: 'actions' },
      a.state === 'raised' && h('button', { class: 'primary', 'data-action': 'ack', onClick: () => act('ack') }, t('alarm.ack')),
      a.latch
        ? h('button', { 'data-action': 'reset', onClick: () => act('reset') }, t('alarm.reset'))
        : h('button', { 'data-action': 'resolve', onClick: () => act('resolve') }, t('alarm.resolve')),
      h('button', { class: 'link', 'data-action': 'history', onClick: toggleHistory }, history ? t('alarm.hideHistory') : t('alarm.history')),
      !isShown(a.id) &&
        h(
          'a',
          {
            class: 'link',
            href: alarmHref(a.id),
            'data-action': 'detail',
            onClick: (e: MouseEvent) => {
              e.preventDefault();
              openAlarm(a.id);
            },
          },
          t('alarm.detail'),
        ),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    history && h('ol', { class: 'history' }, history.map((e, i) => h('li', { key: i }, h('time', null, when(e.at)), ' ', historyText(e)))),
  );
}

function historyText(e: AlarmHistoryEntry): string {
  const d = (e.detail ?? {}) as Record<string, unknown>;
  const who = e.by ? ` · ${e.by}` : '';
  const note = e.note ? ` · ${e.note}` : '';
  switch (e.what) {
    case 'action':
      return t('history.action', {
        command: String(d.command),
        target: String(d.target),
        outcome: outcomeText(String(d.outcome)),
      }) + (d.error ? ` (${String(d.error)})` : '');
    case 'notified':
      return (
        (d.ok ? t('history.notified', { channel: String(d.channel) }) : t('history.notifyFailed', { channel: String(d.channel) })) +
        (d.error ? ` (${String(d.error)})` : '')
      );
    case 'escalated':
      return t('history.escalated', { name: String(d.tierName) });
    case 'raised':
      return t('history.raised');
    case 'repeated':
      return t('history.repeated');
    case 'acknowledged':
      return t('history.acknowledged') + who + note;
    default:
      return t('history.ended') + who + note;
  }
}

const outcomeText = (o: string): string =>
  ({ ok: t('outcome.ok'), failed: t('outcome.failed'), timeout: t('outcome.timeout'), skipped: t('outcome.skipped') })[o] ?? o;
