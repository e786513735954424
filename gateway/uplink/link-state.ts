/**
 * State of the link to the city broker (`stopped`, `connecting`, `connected`, `backoff`): kept
 * in memory, exported as the link-up gauge, and saved with its start time in the outbox state
 * table so that `gateway outbox` can report it while the gateway runs.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Outbox } from './outbox.js';

export type LinkState = 'stopped' | 'connecting' | 'connected' | 'backoff';

export class Link {
  private current: LinkState = 'stopped';

  constructor(
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  /** Saved only when the state changes or extra fields (session, last error) come with it. */
  set(state: LinkState, extra: Record<string, string | number> = {}): void {
    const changed = state !== this.current;
    this.current = state;
    this.metrics.uplinkLinkUp.set(state === 'connected' ? 1 : 0);
    if (!changed && !Object.keys(extra).length) return;
    try {
      this.outbox.saveState({ link_state: state, link_since: new Date().toISOString(), ...extra });
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'uplink state not saved');
    }
  }
}
