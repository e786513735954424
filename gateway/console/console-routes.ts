/**
 * Alarm routes on the ops HTTP server: `GET /alarms` (active alarms as JSON; HTTP Basic with
 * a console account unless in demo mode) and `GET /alarms/console`, a minimal duty console
 * page (live feed, sound on new alarms, acknowledge / resolve) for browsers on the LAN.
 * Logins go through the gateway's LoginGuard, like every console login.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoginGuard } from '../auth/login-guard.js';
import { type Alarm, summary } from '../core/alarm-types.js';
import { ConsoleLogin, type LoginResult, parseBasic, principalOf, refuse } from '../http/http-auth.js';
import type { FeedAccount } from './alarm-feed.js';

export interface AlarmRoutesOptions {
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  activeAlarms(): Alarm[];
  accounts: readonly FeedAccount[];
  demo: boolean;
  /** The gateway's LoginGuard (shared with the feed and the ops server); one of its own if omitted. */
  loginGuard?: LoginGuard;
}

export function registerAlarmRoutes(o: AlarmRoutesOptions): void {
  const logins = new ConsoleLogin(o.accounts, o.loginGuard ?? new LoginGuard());
  o.route('/alarms', (req, res) => {
    void authorised(req, o.demo, logins).then((r) => {
      if (!r.ok) {
        refuse(res, r);
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ active: o.activeAlarms().map(summary) }));
    });
  });
  o.route('/alarms/console', (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(CONSOLE_HTML);
  });
}

async function authorised(
  req: IncomingMessage,
  demo: boolean,
  logins: ConsoleLogin,
): Promise<{ ok: true } | { ok: false; reason: string; retryAfterMs?: number }> {
  if (demo) return { ok: true };
  // The ops server already checked this request (it asks for a login off loopback).
  if (principalOf(req)?.kind === 'account') return { ok: true };
  const basic = parseBasic(req.headers.authorization);
  if (!basic) return { ok: false, reason: 'missing' };
  const r: LoginResult = await logins.login(req.socket.remoteAddress ?? 'unknown', basic.username, basic.password);
  return r.ok ? { ok: true } : r;
}

const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alarm console</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem;background:#111;color:#eee}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #333;text-align:left}
.critical{background:#7a1010}.major{background:#7a4a10}.warning{background:#5a5a10}.acknowledged{opacity:.65}
button{margin-right:.3rem}#status{float:right}
</style></head><body>
<h1>Active alarms <span id="status">connecting…</span></h1>
<form id="login" hidden>User <input id="u" autocomplete="username"> Password <input id="p" type="password" autocomplete="current-password"> <button>Log in</button></form>
<table><thead><tr><th>Raised</th><th>Severity</th><th>Message</th><th>Count</th><th>State</th><th></th></tr></thead><tbody id="rows"></tbody></table>
<script>
const alarms = new Map(); let ws; let audio; let creds; const $ = (id) => document.getElementById(id); const stEl = $('status'), loginEl = $('login'), uEl = $('u'), pEl = $('p');
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function beep(){ try{ audio = audio || new AudioContext(); const o = audio.createOscillator(); o.frequency.value = 880; o.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.4);}catch{} }
function render(){ const rows = [...alarms.values()].sort((a,b)=>b.raisedAt.localeCompare(a.raisedAt));
  document.getElementById('rows').innerHTML = rows.map((a)=>'<tr class="'+esc(a.severity)+' '+esc(a.state)+'"><td>'+esc(a.raisedAt.slice(11,19))+'</td><td>'+esc(a.severity)+'</td><td>'+esc(a.message)+'</td><td>'+a.count+'</td><td>'+esc(a.state)+(a.acknowledged?' by '+esc(a.acknowledged.by):'')+'</td><td>'+(a.state==='raised'?'<button data-op="ack" data-id="'+esc(a.id)+'">Acknowledge</button>':'')+'<button data-op="resolve" data-id="'+esc(a.id)+'">Resolve</button></td></tr>').join(''); }
document.getElementById('rows').onclick = (e) => { const b = e.target.closest('button'); if (b) ws.send(JSON.stringify({op:b.dataset.op, alarmId:b.dataset.id, note: b.dataset.op==='resolve' ? prompt('Note') || undefined : undefined})); };
const login = () => ws.send(JSON.stringify(Object.assign({op:'login'}, creds)));
loginEl.onsubmit = (e) => { e.preventDefault(); beep(); creds = {username:uEl.value, password:pEl.value};
  if (ws && ws.readyState === 1) login(); else if (!ws || ws.readyState > 1) connect(); };
function connect(){ ws = new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/alarms/feed');
  ws.onopen = () => { stEl.textContent = 'connected'; };
  ws.onclose = (e) => { if (e.code === 4001) { stEl.textContent = 'log in to see the alarms'; loginEl.hidden = false; return; }
    stEl.textContent = 'disconnected, retrying…'; setTimeout(connect, 2000); };
  ws.onmessage = (m) => { const x = JSON.parse(m.data);
    if (x.type==='hello') { loginEl.hidden = !x.loginRequired; if (x.loginRequired && creds) login(); }
    if (x.type==='login') { if (x.ok) { loginEl.hidden = true; stEl.textContent = 'live: '+x.user; } else { creds = undefined; alert(x.error); } }
    if (x.type==='snapshot') { alarms.clear(); for (const a of x.alarms) alarms.set(a.id, a); render(); }
    if (x.type==='alarm' && x.event.data.alarm) { const a = x.event.data.alarm; if (a.active) alarms.set(a.id, a); else alarms.delete(a.id); if (x.event.type==='alarm.raised' || x.event.type==='alarm.escalated') beep(); render(); }
    if (x.type==='result' && !x.ok) alert(x.error); };
}
connect();
</script></body></html>
`;
