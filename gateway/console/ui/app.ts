/** The console shell: session check (no session: the login page), header with navigation, language, logout. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, LOGGED_OUT, type Me, mayDo } from './lib/api.js';
import { lang, setLang, t } from './lib/i18n.js';
import { PAGES } from './pages.js';
import { LoginPage } from './pages/login.js';

const route = (): string => location.hash.replace(/^#/, '') || '/';
const go = (path: string): void => {
  location.hash = `#${path}`;
};

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [path, setPath] = useState(route());
  const [, setShownLang] = useState(lang());

  useEffect(() => {
    const onHash = () => setPath(route());
    const onLoggedOut = () => setMe(null);
    window.addEventListener('hashchange', onHash);
    window.addEventListener(LOGGED_OUT, onLoggedOut);
    api<Me>('GET', '/session').then(setMe, () => setMe(null));
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener(LOGGED_OUT, onLoggedOut);
    };
  }, []);

  useEffect(() => {
    if (me === null && path !== '/login') go('/login');
    if (me && path === '/login') go('/');
  }, [me, path]);

  if (me === undefined) return h('p', { class: 'loading' }, t('app.loading'));
  if (me === null) return h(LoginPage, { onLogin: setMe });

  const page = PAGES.find((p) => p.path === path) ?? PAGES[0]!;
  const switchLang = () => {
    setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN');
    setShownLang(lang());
  };
  const logout = () => void api('POST', '/logout').finally(() => setMe(null));
  return h(
    'div',
    { class: 'shell', 'data-user': me.user, 'data-role': me.role },
    h(
      'header',
      { class: 'top' },
      h('strong', { class: 'brand' }, t('app.title')),
      h(
        'nav',
        null,
        PAGES.filter((p) => mayDo(me.role, p.role)).map((p) =>
          h('a', { key: p.path, href: `#${p.path}`, 'data-page': p.path, class: p === page ? 'current' : '' }, t(p.titleKey)),
        ),
      ),
      h('span', { class: 'who' }, t('header.user', { user: me.user, role: me.role === 'admin' ? t('role.admin') : t('role.reader') })),
      h('button', { class: 'link', id: 'lang', onClick: switchLang }, t('header.switchLang')),
      h('button', { id: 'logout', onClick: logout }, t('header.logout')),
    ),
    h('main', null, mayDo(me.role, page.role) ? h(page.view, { me }) : h('p', { class: 'error' }, t('error.forbidden'))),
  );
}
