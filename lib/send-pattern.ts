/**
 * When a socket sends what (pure, unit-tested from Node): bursts and idempotency repeats.
 *
 * Bursts of the ws part: every `every`-th scheduled send of a socket starts a burst of `size` messages, each sent
 * the moment the previous one's echo arrives (still one in flight). Senders with several messages close together
 * are what reveals a target that reorders one sender's messages (a delay shorter than the send interval would
 * never show otherwise). PURE.
 */
export interface BurstPattern {
  /** Every Nth scheduled send starts a burst (0 = never). */
  every: number;
  /** Messages in a burst, the scheduled one included. */
  size: number;
}

export const NO_BURST: BurstPattern = { every: 0, size: 1 };

export function burstStarts(slotIndex: number, p: BurstPattern): boolean {
  return p.every > 0 && p.size > 1 && slotIndex % p.every === p.every - 1;
}

/** The burst state of one socket. */
export class Burst {
  private left = 0;
  constructor(private readonly p: BurstPattern) {}

  /** A scheduled send went out (slot `slotIndex`): maybe a burst starts. */
  scheduled(slotIndex: number): void {
    this.left = burstStarts(slotIndex, this.p) ? this.p.size - 1 : 0;
  }

  /** After an echo: whether to send the next message of the burst now. */
  takeNext(): boolean {
    if (this.left <= 0) return false;
    this.left -= 1;
    return true;
  }

  cancel(): void {
    this.left = 0;
  }
}

/**
 * Whether the nth acknowledged message (0-based) of a socket is repeated with the same client_msg_id
 * (lib/idempotency.ts): the every-th from every/2 on, and the first when `first`.
 */
export function repeatsAfter(ackIndex: number, every: number, first = false): boolean {
  if (every <= 0) return false;
  return (first && ackIndex === 0) || ackIndex % every === Math.floor(every / 2);
}
