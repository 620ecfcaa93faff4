/**
 * What one hot-room subscriber received, and the delivery judgement. PURE (unit-tested from Node).
 *
 * Order is checked per sender stream (marker without seq), for every sender; delivery is judged exactly only for
 * the VU's own publisher, whose acknowledged messages are known: each acknowledged message against each
 * subscriber that was connected over the message's whole span (one connection open from before its first send
 * until DELIVERY_MARGIN_MS after its acknowledgement).
 *
 * Messages missed while reconnecting (`ws_missed_messages`): each sender stream's seq grows by one per message,
 * so when a subscriber's socket is replaced, the first receipt of a stream after the reconnect, seq b, against the
 * last receipt of that stream before the disconnection, seq a, shows b − a − 1 messages sent meanwhile and never
 * received. Counted for every stream heard before the disconnection, once its next message arrives; a seq the
 * sender used for a message whose store failed in the gap counts too (the subscriber cannot tell).
 */

export type Receipt = 'new' | 'duplicate' | 'out_of_order';

export class SubscriberLog {
  /** seqs of the own publisher received. */
  readonly own = new Set<number>();
  /** highest seq seen per sender stream (bounded number of streams). */
  private readonly last = new Map<string, number>();
  /** After a reconnect: streams heard before it whose first receipt since is awaited → their last seq before. */
  private awaiting = new Map<string, number>();
  /** Messages found missed across reconnects, not yet taken by takeMissed(). */
  private missedPending = 0;
  /** Messages found missed across reconnects, in all. */
  missedTotal = 0;

  constructor(
    private readonly ownKey: string,
    private readonly maxSenders = 10_000,
  ) {}

  /** The socket was replaced after a disconnection: the next receipt of each stream heard so far shows its gap. */
  reconnected(): void {
    // A second reconnect before a stream spoke again keeps the older (lower) last seq: the gap spans both outages.
    const before = this.awaiting;
    this.awaiting = new Map(this.last);
    for (const [k, v] of before) this.awaiting.set(k, v);
  }

  /** Messages found missed since the last call (for the ws_missed_messages counter). */
  takeMissed(): number {
    const n = this.missedPending;
    this.missedPending = 0;
    return n;
  }

  receive(senderKey: string, seq: number): Receipt {
    const before = this.awaiting.get(senderKey);
    if (before !== undefined) {
      this.awaiting.delete(senderKey);
      const gap = Math.max(0, seq - before - 1);
      this.missedPending += gap;
      this.missedTotal += gap;
    }
    let result: Receipt = 'new';
    if (senderKey === this.ownKey) {
      if (this.own.has(seq)) result = 'duplicate';
      this.own.add(seq);
    }
    const last = this.last.get(senderKey);
    if (last === undefined) {
      if (this.last.size < this.maxSenders) this.last.set(senderKey, seq);
    } else if (seq > last) {
      this.last.set(senderKey, seq);
    } else if (seq === last) {
      result = 'duplicate';
    } else if (result !== 'duplicate') {
      result = 'out_of_order';
    }
    return result;
  }
}

/** A subscriber's connected stretches (lib/ws.ts RoomSocket.spans); `closeMs` unset while connected. */
export interface SubscriberState {
  spans: ReadonlyArray<{ openMs: number; closeMs?: number }>;
}

export interface PublishedMessage {
  seq: number;
  acked: boolean;
  firstSendMs: number;
  /** When the acknowledgement came (the fan-out to the other subscribers happens around then). */
  resolvedMs: number;
}

/** A connection that closed this soon after a message's acknowledgement may have closed before its fan-out arrived. */
export const DELIVERY_MARGIN_MS = 1000;

/** Whether one connection of the subscriber was open from before `fromMs` until `untilMs`. */
export function connectedThroughout(state: SubscriberState, fromMs: number, untilMs: number): boolean {
  return state.spans.some((sp) => sp.openMs <= fromMs && (sp.closeMs === undefined || sp.closeMs >= untilMs));
}

/**
 * For one published message: per subscriber, `true` delivered, `false` missing, `undefined` not judged (not
 * acknowledged, or the subscriber was not connected over the whole span: it opened later, or it was disconnected
 * meanwhile, which ws_missed_messages counts).
 */
export function judgeDelivery(
  msg: PublishedMessage,
  subs: ReadonlyArray<{ state: SubscriberState; log: SubscriberLog }>,
): Array<boolean | undefined> {
  return subs.map(({ state, log }) => {
    if (!msg.acked) return undefined;
    if (!connectedThroughout(state, msg.firstSendMs, msg.resolvedMs + DELIVERY_MARGIN_MS)) return undefined;
    return log.own.has(msg.seq);
  });
}
