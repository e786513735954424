/** Entry of the console bundle (esbuild: app-[hash].js). */
import { h, render } from 'preact';
import { App } from './app.js';
import { lang } from './lib/i18n.js';

document.documentElement.lang = lang();
render(h(App, null), document.getElementById('app')!);
