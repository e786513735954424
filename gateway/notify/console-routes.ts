/**
 * Alarm routes on the ops HTTP server: `GET /alarms` (active alarms as JSON; HTTP Basic with
 * a console account unless in demo mode) and `GET /alarms/console`, a minimal duty console
 * page (live feed, sound on new alarms, acknowledge / resolve) for browsers on the LAN.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { summary } from '../alarms/alarm-engine.js';
import type { Alarm } from '../alarms/alarm-types.js';
import { verifyPasswordAsync } from '../broker/password.js';
import type { FeedAccount } from './alarm-feed.js';

export interface AlarmRoutesOptions {
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  activeAlarms(): Alarm[];
  accounts: readonly FeedAccount[];
  demo: boolean;
}

export function registerAlarmRoutes(o: AlarmRoutesOptions): void {
  o.route('/alarms', (req, res) => {
    void authorised(req, o).then((ok) => {
      if (!ok) {
        res
          .writeHead(401, {
            'www-authenticate': 'Basic realm="gateway console"',
            'content-type': 'text/plain',
          })
          .end('log in\n');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ active: o.activeAlarms().map(summary) }));
    });
  });
  o.route('/alarms/console', (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(CONSOLE_HTML);
  });
}

async function authorised(req: IncomingMessage, o: AlarmRoutesOptions): Promise<boolean> {
  if (o.demo) return true;
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  const acct = o.accounts.find((a) => a.username === text.slice(0, i));
  if (i < 0 || !acct || acct.role === 'device') return false;
  try {
    return await verifyPasswordAsync(text.slice(i + 1), acct.passwordHash);
  } catch {
    return false;
  }
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
const alarms = new Map(); let ws; let audio; const $ = (id) => document.getElementById(id); const stEl = $('status'), loginEl = $('login'), uEl = $('u'), pEl = $('p');
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function beep(){ try{ audio = audio || new AudioContext(); const o = audio.createOscillator(); o.frequency.value = 880; o.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.4);}catch{} }
function render(){ const rows = [...alarms.values()].sort((a,b)=>b.raisedAt.localeCompare(a.raisedAt));
  document.getElementById('rows').innerHTML = rows.map((a)=>'<tr class="'+esc(a.severity)+' '+esc(a.state)+'"><td>'+esc(a.raisedAt.slice(11,19))+'</td><td>'+esc(a.severity)+'</td><td>'+esc(a.message)+'</td><td>'+a.count+'</td><td>'+esc(a.state)+(a.acknowledged?' by '+esc(a.acknowledged.by):'')+'</td><td>'+(a.state==='raised'?'<button data-op="ack" data-id="'+esc(a.id)+'">Acknowledge</button>':'')+'<button data-op="resolve" data-id="'+esc(a.id)+'">Resolve</button></td></tr>').join(''); }
document.getElementById('rows').onclick = (e) => { const b = e.target.closest('button'); if (b) ws.send(JSON.stringify({op:b.dataset.op, alarmId:b.dataset.id, note: b.dataset.op==='resolve' ? prompt('Note') || undefined : undefined})); };
loginEl.onsubmit = (e) => { e.preventDefault(); beep(); ws.send(JSON.stringify({op:'login', username:uEl.value, password:pEl.value})); };
function connect(){ ws = new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/alarms/feed');
  ws.onopen = () => { stEl.textContent = 'live'; };
  ws.onclose = () => { stEl.textContent = 'disconnected, retrying…'; setTimeout(connect, 2000); };
  ws.onmessage = (m) => { const x = JSON.parse(m.data);
    if (x.type==='hello') loginEl.hidden = !x.loginRequired;
    if (x.type==='login') { if (x.ok) { loginEl.hidden = true; stEl.textContent = 'live: '+x.user; } else alert(x.error); }
    if (x.type==='snapshot') { alarms.clear(); for (const a of x.alarms) alarms.set(a.id, a); render(); }
    if (x.type==='alarm' && x.event.data.alarm) { const a = x.event.data.alarm; if (a.active) alarms.set(a.id, a); else alarms.delete(a.id); if (x.event.type==='alarm.raised' || x.event.type==='alarm.escalated') beep(); render(); }
    if (x.type==='result' && !x.ok) alert(x.error); };
}
connect();
</script></body></html>
`;
