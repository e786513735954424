/**
 * Sends alarms to the channels of a notification tier: SMS through the GSM modem, local
 * webhooks. Each message is retried (`attempts`, `retryDelay`); the outcome of every channel
 * (ok, attempts, last error) is handed to `record`, which puts it in the alarm's history and
 * on the feed. Channels work without the internet: a modem and a LAN endpoint.
 */

import { type Alarm, summary } from '../core/alarm-types.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { parseDuration } from '../core/time.js';
import { AtModem, type ModemPort, openSerialModem } from './at-modem.js';
import type { Channel, NotifyConfig, SmsChannel, WebhookChannel } from './notify-schema.js';

export interface NotificationOutcome {
  channel: string;
  ok: boolean;
  attempts: number;
  error?: string;
  to?: string[];
}

export interface NotifierOptions {
  config: NotifyConfig;
  site: string;
  gateway: string;
  log: Logger;
  record: (alarmId: string, outcome: NotificationOutcome) => void;
  /** Opens the modem's serial port (injectable for tests). */
  openModem?: (path: string, baudRate: number) => Promise<ModemPort>;
  onSent?: (channel: string, ok: boolean) => void;
}

const RANK = { info: 0, warning: 1, major: 2, critical: 3 } as const;

export class Notifier {
  private readonly channels: Map<string, Channel>;
  private readonly modems = new Map<string, Promise<AtModem>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly o: NotifierOptions) {
    this.channels = new Map(o.config.channels.map((c) => [c.id, c]));
  }

  /** Notifies the channels of tier `tier` about `alarm` (fire and forget; outcomes go to `record`). */
  notify(alarm: Alarm, tier: number): void {
    const t = this.o.config.tiers[tier];
    if (!t || this.closed || RANK[alarm.severity] < RANK[t.minSeverity]) return;
    for (const id of t.channels) {
      const ch = this.channels.get(id);
      if (!ch?.enabled) continue;
      const p = this.send(ch, alarm, t.name).then((outcome) => {
        this.o.onSent?.(ch.id, outcome.ok);
        if (!outcome.ok) this.o.log.error({ alarm: alarm.id, ...outcome }, 'notification failed');
        else
          this.o.log.info(
            { alarm: alarm.id, channel: ch.id, attempts: outcome.attempts },
            'notification sent',
          );
        this.o.record(alarm.id, outcome);
      });
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  /** Waits for notifications in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const m of this.modems.values()) {
      try {
        await (await m).close();
      } catch {
        // the port never opened
      }
    }
    this.modems.clear();
  }

  private send(ch: Channel, alarm: Alarm, tierName: string): Promise<NotificationOutcome> {
    return ch.type === 'sms' ? this.sendSms(ch, alarm) : this.sendWebhook(ch, alarm, tierName);
  }

  private async retry(
    ch: Channel,
    once: (attempt: number) => Promise<void>,
  ): Promise<{ attempts: number; error?: string }> {
    const delay = parseDuration(ch.retryDelay);
    let error: string | undefined;
    for (let attempt = 1; attempt <= ch.attempts; attempt++) {
      try {
        await once(attempt);
        return { attempts: attempt };
      } catch (err) {
        error = errorMessage(err);
        this.o.log.warn(
          { channel: ch.id, attempt, of: ch.attempts, err: error },
          'notification attempt failed',
        );
        if (attempt < ch.attempts && !this.closed) await new Promise((r) => setTimeout(r, delay));
      }
    }
    return { attempts: ch.attempts, error };
  }

  private modem(ch: SmsChannel): Promise<AtModem> {
    let m = this.modems.get(ch.id);
    if (!m) {
      const open = this.o.openModem ?? openSerialModem;
      m = open(ch.port, ch.baudRate).then((port) => new AtModem(port, parseDuration(ch.timeout)));
      m.catch(() => this.modems.delete(ch.id));
      this.modems.set(ch.id, m);
    }
    return m;
  }

  private async sendSms(ch: SmsChannel, alarm: Alarm): Promise<NotificationOutcome> {
    const text = smsText(alarm, this.o.site);
    const failed: string[] = [];
    let attempts = 0;
    let lastError: string | undefined;
    for (const to of ch.to) {
      const r = await this.retry(ch, async () => {
        const modem = await this.modem(ch);
        await modem.sendSms(to, text);
      });
      attempts += r.attempts;
      if (r.error) {
        failed.push(to);
        lastError = `${to}: ${r.error}`;
      }
    }
    return {
      channel: ch.id,
      ok: failed.length === 0,
      attempts,
      to: [...ch.to],
      ...(lastError ? { error: lastError } : {}),
    };
  }

  private async sendWebhook(
    ch: WebhookChannel,
    alarm: Alarm,
    tierName: string,
  ): Promise<NotificationOutcome> {
    const body = JSON.stringify({
      site: this.o.site,
      gateway: this.o.gateway,
      tier: tierName,
      alarm: summary(alarm),
    });
    const timeout = parseDuration(ch.timeout);
    const r = await this.retry(ch, async () => {
      const res = await fetch(ch.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ch.headers },
        body,
        signal: AbortSignal.timeout(timeout),
      });
      await res.arrayBuffer().catch(() => {});
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    });
    return { channel: ch.id, ok: !r.error, attempts: r.attempts, ...(r.error ? { error: r.error } : {}) };
  }
}

/** Severity as the duty staff read it. */
const SEVERITY_ZH: Record<Alarm['severity'], string> = { critical: '紧急', major: '重要', warning: '警告', info: '提示' };

/** The SMS text: severity, message, where, when (UTC), a short alarm reference. */
export function smsText(a: Alarm, site: string): string {
  const time = a.raisedAt.slice(11, 19);
  return `【${SEVERITY_ZH[a.severity]}】${a.message} - ${site} ${time}Z #${a.id.slice(-6)}`;
}
