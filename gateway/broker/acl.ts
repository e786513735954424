import type { Account } from './broker-config.js';

/**
 * Topic ACLs of the local broker: pure functions, no I/O.
 * Topic names and filters follow MQTT 3.1.1 §4.7 (topic names and topic filters).
 */

/** What the ACL needs to know about a connected principal. */
export type AclAccount = Pick<Account, 'username' | 'role' | 'publish' | 'subscribe'>;

/** A client without a user name in demo mode: reads the gateway's topics, publishes nothing. */
export const ANONYMOUS: Readonly<AclAccount> = Object.freeze({
  username: '',
  role: 'reader',
  publish: [],
  subscribe: ['cg/#'],
});

/** Role defaults; `{username}` is replaced by the account's user name. */
export const ROLE_DEFAULTS: Readonly<Record<Account['role'], { publish: string[]; subscribe: string[] }>> = {
  device: { publish: ['dev/{username}/#'], subscribe: ['dev/{username}/cmd/#'] },
  reader: { publish: [], subscribe: ['cg/#'] },
  // "+"/"#" never match topics starting with "$" (§4.7.2), so $SYS is listed on its own.
  admin: { publish: ['#'], subscribe: ['#', '$SYS/#'] },
};

/** Does the topic filter match the topic name? `#` also matches the parent level (§4.7.1.2). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // §4.7.2: a filter starting with a wildcard does not match topic names starting with "$".
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Is every topic matched by `requested` also matched by `allowed`?
 * e.g. `cg/#` covers `cg/v1/+/+/events/#`; `dev/bin-7/cmd/#` covers neither `dev/#` nor `#`.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  // §4.7.2: a wildcard in the first level of `allowed` does not reach "$" topics.
  if (requested.startsWith('$') && (a[0] === '+' || a[0] === '#')) return false;
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    if (level === '#') return true;
    if (i >= r.length) return false;
    const req = r[i];
    if (req === '#') return false;
    if (level === '+') continue;
    if (level !== req) return false;
  }
  return a.length === r.length;
}

/** A well-formed topic filter per §4.7.1: `#` alone and last, `+` alone in its level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every(
    (l, i) => (l === '#' ? i === levels.length - 1 : !l.includes('#')) && (l === '+' || !l.includes('+')),
  );
}

/** Replaces `{username}`; a filter using it is dropped when the name could act as a wildcard or level. */
export function substituteUsername(filter: string, username: string): string | undefined {
  if (!filter.includes('{username}')) return filter;
  if (username === '' || /[/+#$]/.test(username) || username.includes('\u0000')) return undefined;
  return filter.replaceAll('{username}', username);
}

export interface EffectiveFilters {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** Accounts come from frozen config, so their resolved filters are computed once. */
const resolved = new WeakMap<AclAccount, EffectiveFilters>();

/** The effective filters of an account: its own lists if given, else the role defaults. */
export function effectiveFilters(account: AclAccount): EffectiveFilters {
  let filters = resolved.get(account);
  if (filters === undefined) {
    const defaults = ROLE_DEFAULTS[account.role];
    const resolve = (list: readonly string[]) =>
      list.flatMap((f) => substituteUsername(f, account.username) ?? []);
    filters = Object.freeze({
      publish: resolve(account.publish ?? defaults.publish),
      subscribe: resolve(account.subscribe ?? defaults.subscribe),
    });
    resolved.set(account, filters);
  }
  return filters;
}

/**
 * Topics only the gateway itself (which publishes without the ACL) publishes to, whatever filters an
 * account is given: commands to a device (`dev/<name>/cmd/...`). Otherwise a device could forge
 * commands to itself (its default filter `dev/{username}/#` covers them). People, admins included,
 * send commands through the command path (`<root>/cmd/<device>/<command>`), which checks and audits them.
 */
export const COMMAND_TOPICS: readonly string[] = Object.freeze(['dev/+/cmd/#']);

/** May the account publish to this topic name? Topics starting with "$" are reserved to the server (§4.7.2). */
export function canPublish(account: AclAccount, topic: string): boolean {
  if (topic.length === 0 || topic.startsWith('$') || /[+#]/.test(topic)) return false;
  if (COMMAND_TOPICS.some((f) => topicMatches(f, topic))) return false;
  return effectiveFilters(account).publish.some((f) => topicMatches(f, topic));
}

/** May the account subscribe to this filter? Only if one allowed filter covers all it could match. */
export function canSubscribe(account: AclAccount, filter: string): boolean {
  if (!isValidFilter(filter)) return false;
  return effectiveFilters(account).subscribe.some((f) => filterCovers(f, filter));
}
