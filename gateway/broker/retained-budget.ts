import type { BrokerLimits } from './broker-config.js';
import type { DenyReason } from './deny-reasons.js';

/**
 * The budget of retained messages (§3.3.1.3) that clients may store in the local broker: how many
 * topics hold one, and their bytes (topic + payload) together. A retained message with an empty
 * payload clears the topic's and is always allowed. The gateway's own retained messages are not
 * counted, but they replace a client's on the same topic.
 */

export type RetainedRefusal = Extract<DenyReason, 'max-retained-messages' | 'max-retained-bytes'>;

export class RetainedBudget {
  /** Retained messages stored by clients: topic -> bytes (topic + payload). */
  private readonly retained = new Map<string, number>();
  private retainedBytes = 0;

  constructor(private readonly limits: Pick<BrokerLimits, 'maxRetainedMessages' | 'maxRetainedBytes'>) {}

  /** Retained messages stored by clients. */
  get messages(): number {
    return this.retained.size;
  }

  /** Their bytes (topic + payload). */
  get bytes(): number {
    return this.retainedBytes;
  }

  /** Why a client's retained message on `topic` would exceed the budget, if it would. */
  refusal(topic: string, payload: Buffer): RetainedRefusal | undefined {
    if (payload.length === 0) return undefined; // clears the retained message (§3.3.1.3)
    const before = this.retained.get(topic);
    const bytes = Buffer.byteLength(topic) + payload.length;
    if (before === undefined && this.retained.size >= this.limits.maxRetainedMessages) return 'max-retained-messages';
    if (this.retainedBytes - (before ?? 0) + bytes > this.limits.maxRetainedBytes) return 'max-retained-bytes';
    return undefined;
  }

  /** A retained message on `topic` was accepted, from a client (`byClient`) or from the gateway. */
  note(topic: string, payload: Buffer, byClient: boolean): void {
    const before = this.retained.get(topic);
    if (before !== undefined) {
      this.retainedBytes -= before;
      this.retained.delete(topic);
    }
    if (byClient && payload.length > 0) {
      const bytes = Buffer.byteLength(topic) + payload.length;
      this.retained.set(topic, bytes);
      this.retainedBytes += bytes;
    }
  }
}
