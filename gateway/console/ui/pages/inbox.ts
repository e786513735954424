/**
 * The alarm inbox (home page): the active alarms, most severe and newest first, live. While any
 * is unacknowledged a tone repeats every 3 s and the page title flashes; with sound off (the
 * browser's autoplay rule) a banner says so and offers to turn it on. `data-sound` on the page
 * tells the state: `on` (ringing), `blocked` (should ring, sound off), `idle`.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { beep, enableSound, soundOn } from '../lib/alarm-sound.js';
import { byUrgency, useAlarmFeed } from '../lib/feed.js';
import { t } from '../lib/i18n.js';
import { AlarmCard } from './alarm-card.js';

const RING_EVERY_MS = 3000;

export function InboxPage() {
  const { alarms, connected } = useAlarmFeed();
  const [sound, setSound] = useState(soundOn());
  const list = [...alarms.values()].sort(byUrgency);
  const unacked = list.filter((a) => a.state === 'raised').length;

  useEffect(() => {
    if (!unacked || !sound) return;
    beep();
    const timer = setInterval(beep, RING_EVERY_MS);
    return () => clearInterval(timer);
  }, [unacked > 0, sound]);

  useEffect(() => {
    const title = t('app.title');
    if (!unacked) {
      document.title = title;
      return;
    }
    let on = false;
    const timer = setInterval(() => {
      on = !on;
      document.title = on ? t('inbox.titleFlash', { n: unacked }) : title;
    }, 1000);
    return () => {
      clearInterval(timer);
      document.title = title;
    };
  }, [unacked]);

  const soundState = !unacked ? 'idle' : sound ? 'on' : 'blocked';
  return h(
    'section',
    { class: 'inbox', id: 'inbox', 'data-sound': soundState, 'data-sound-enabled': String(sound) },
    !sound &&
      h(
        'div',
        { class: 'banner warn', role: 'alert' },
        h('span', null, t('sound.offWarning')),
        h('button', { class: 'primary', id: 'enable-sound', onClick: () => void enableSound().then(setSound) }, t('sound.enable')),
      ),
    !connected && h('div', { class: 'banner' }, t('inbox.connecting')),
    h('h2', null, t('inbox.heading', { n: list.length, unacked })),
    list.length === 0 && connected && h('p', { class: 'empty' }, t('inbox.empty')),
    list.map((a) => h(AlarmCard, { key: a.id, alarm: a })),
  );
}
