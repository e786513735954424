/**
 * The live alarm feed (WebSocket `/console/feed`, logged in by the session cookie): a snapshot of the
 * active alarms, then every `alarm.*` event. Reconnects after a drop; a close for a missing login
 * (4001) or a refused upgrade means the session is gone.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Alarm } from '../../../core/alarm-types.js';
import { LOGGED_OUT } from './api.js';

export type AlarmView = Omit<Alarm, 'history'> & Partial<Pick<Alarm, 'history'>>;

export interface FeedState {
  alarms: ReadonlyMap<string, AlarmView>;
  connected: boolean;
}

export function useAlarmFeed(): FeedState {
  const [state, setState] = useState<FeedState>({ alarms: new Map(), connected: false });
  useEffect(() => {
    let ws: WebSocket | undefined;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/console/feed`);
      ws.onmessage = (m) => {
        const x = JSON.parse(String(m.data)) as {
          type: string;
          ok?: boolean;
          alarms?: AlarmView[];
          event?: { data: { alarm?: AlarmView } };
        };
        if (x.type === 'login') setState((s) => ({ ...s, connected: x.ok === true }));
        if (x.type === 'snapshot') setState({ connected: true, alarms: new Map(x.alarms!.map((a) => [a.id, a])) });
        const a = x.type === 'alarm' ? x.event?.data.alarm : undefined;
        if (a) {
          setState((s) => {
            const alarms = new Map(s.alarms);
            if (a.active) alarms.set(a.id, a);
            else alarms.delete(a.id);
            return { ...s, alarms };
          });
        }
      };
      ws.onclose = (e) => {
        setState((s) => ({ ...s, connected: false }));
        if (stopped) return;
        if (e.code === 4001) {
          window.dispatchEvent(new Event(LOGGED_OUT));
          return;
        }
        retry = setTimeout(connect, 2000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      ws?.close();
    };
  }, []);
  return state;
}

const RANK: Record<string, number> = { critical: 0, major: 1, warning: 2, minor: 3, info: 4 };

/** Most severe first, then newest first. */
export function byUrgency(a: AlarmView, b: AlarmView): number {
  return (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9) || b.raisedAt.localeCompare(a.raisedAt);
}
