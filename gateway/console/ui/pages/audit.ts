/** The audit page (admins): who did what, from where, with what result. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry } from '../../console-audit.js';
import { api } from '../lib/api.js';
import { t, when } from '../lib/i18n.js';

export function AuditPage() {
  const [entries, setEntries] = useState<AuditEntry[] | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    api<{ entries: AuditEntry[] }>('GET', '/audit?limit=200').then(
      (r) => setEntries(r.entries),
      (err: Error) => setError(err.message),
    );
  }, []);
  if (error) return h('p', { class: 'error' }, t('error.generic', { error }));
  if (!entries) return h('p', null, t('app.loading'));
  return h(
    'table',
    { class: 'audit', id: 'audit' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, t('audit.at')),
        h('th', null, t('audit.user')),
        h('th', null, t('audit.from')),
        h('th', null, t('audit.action')),
        h('th', null, t('audit.target')),
        h('th', null, t('audit.note')),
        h('th', null, t('audit.result')),
      ),
    ),
    h(
      'tbody',
      null,
      entries.map((e) =>
        h(
          'tr',
          { key: e.id },
          h('td', null, when(e.at)),
          h('td', null, e.user, e.role && h('small', null, ` (${e.role})`)),
          h('td', null, e.from),
          h('td', null, e.action),
          h('td', null, e.target),
          h('td', null, e.note ?? ''),
          h('td', { class: e.result === 'ok' ? '' : 'error' }, e.result),
        ),
      ),
    ),
  );
}
