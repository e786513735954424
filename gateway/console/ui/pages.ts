/**
 * The console's pages: a page is one file under pages/ plus one line here (its hash path, the
 * dictionary key of its title, the least role that sees it) and its text keys in both dictionaries.
 * The server enforces the roles on the page's API; here they only hide what a role may not use.
 */
import type { FunctionComponent } from 'preact';
import type { Me } from './lib/api.js';
import { AlarmDetailPage } from './pages/alarm-detail.js';
import { AuditPage } from './pages/audit.js';
import { DevicesPage } from './pages/devices.js';
import { EventsPage } from './pages/events.js';
import { InboxPage } from './pages/inbox.js';
import { OverviewPage } from './pages/overview.js';

export interface Page {
  /** The hash route: `#/audit`. */
  path: string;
  titleKey: string;
  role: 'reader' | 'admin';
  view: FunctionComponent<{ me: Me }>;
}

export const PAGES: Page[] = [
  { path: '/', titleKey: 'nav.inbox', role: 'reader', view: InboxPage },
  { path: '/site', titleKey: 'nav.site', role: 'reader', view: AlarmDetailPage },
  { path: '/overview', titleKey: 'nav.overview', role: 'reader', view: OverviewPage },
  { path: '/devices', titleKey: 'nav.devices', role: 'reader', view: DevicesPage },
  { path: '/events', titleKey: 'nav.events', role: 'reader', view: EventsPage },
  { path: '/audit', titleKey: 'nav.audit', role: 'admin', view: AuditPage },
];
