/**
 * What one hot-room subscriber received, and the delivery judgement. PURE (unit-tested from Node).
 *
 * Order is checked per sender stream (marker without seq), for every sender; delivery is judged exactly only for
 * the VU's own publisher, whose acknowledged messages are known: each acknowledged message against each
 * subscriber that was open before the message's first send and has not been closed early.
 */

export type Receipt = 'new' | 'duplicate' | 'out_of_order';

export class SubscriberLog {
  /** seqs of the own publisher received. */
  readonly own = new Set<number>();
  /** highest seq seen per sender stream (bounded number of streams). */
  private readonly last = new Map<string, number>();

  constructor(
    private readonly ownKey: string,
    private readonly maxSenders = 10_000,
  ) {}

  receive(senderKey: string, seq: number): Receipt {
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

export interface SubscriberState {
  openedAtMs: number | undefined;
  closedEarly: boolean;
}

export interface PublishedMessage {
  seq: number;
  acked: boolean;
  firstSendMs: number;
}

/**
 * For one published message: per subscriber, `true` delivered, `false` missing, `undefined` not judged (not
 * acknowledged, or the subscriber was not connected over the whole span).
 */
export function judgeDelivery(
  msg: PublishedMessage,
  subs: ReadonlyArray<{ state: SubscriberState; log: SubscriberLog }>,
): Array<boolean | undefined> {
  return subs.map(({ state, log }) => {
    if (!msg.acked) return undefined;
    if (state.openedAtMs === undefined || state.openedAtMs > msg.firstSendMs || state.closedEarly) return undefined;
    return log.own.has(msg.seq);
  });
}
