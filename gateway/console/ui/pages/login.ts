/** The login page: a console account (duty staff or admin); shows the wait when logins are throttled. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, type Me } from '../lib/api.js';
import { t } from '../lib/i18n.js';

export function LoginPage({ onLogin }: { onLogin: (me: Me) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      onLogin(await api<Me>('POST', '/login', { username: form.get('username'), password: form.get('password') }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 429)
        setError(t('login.throttled', { s: Math.ceil((err.retryAfterMs ?? 1000) / 1000) }));
      else if (err instanceof ApiError && err.status === 401) setError(t('login.wrong'));
      else setError(t('error.generic', { error: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };
  return h(
    'form',
    { class: 'login', id: 'login', onSubmit: submit },
    h('h1', null, t('app.title')),
    h('label', null, t('login.username'), h('input', { name: 'username', autocomplete: 'username', required: true })),
    h(
      'label',
      null,
      t('login.password'),
      h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    h('button', { type: 'submit', disabled: busy }, t('login.submit')),
  );
}
