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

/**
 * The hot-room publisher's schedule: `count` slots, one every `intervalMs` from `startMs`. A message may start any
 * time in its slot's window [t_k, t_k + intervalMs) once the one before it is answered, at most one per slot. A
 * window that passes with no message started, although a tick found its message due while the publisher still
 * waited for the previous one's answer, is a skipped slot (`hot_room_sends_skipped`): a slow target lowered the
 * offered load, and the fan-out figures rest on fewer messages than planned. A window no tick visited (the load
 * generator's own stall), or one passed while the socket was down or only the suite's own repeat was in flight, is
 * not counted. PURE.
 */
export class PublisherSlots {
  /** The slot pending (its window not over). */
  private index = 0;
  private sentInSlot = false;
  private waitedInSlot = false;

  constructor(
    private readonly startMs: number,
    private readonly intervalMs: number,
    private readonly count: number,
  ) {}

  private slotMs(k: number): number {
    return this.startMs + k * this.intervalMs;
  }

  /** Closes the windows over by `nowMs`; `onSkipped(slotMs)` for each that was waited in and had no message. */
  pass(nowMs: number, onSkipped: (slotMs: number) => void): void {
    while (this.index < this.count && this.slotMs(this.index + 1) <= nowMs) {
      if (!this.sentInSlot && this.waitedInSlot) onSkipped(this.slotMs(this.index));
      this.index += 1;
      this.sentInSlot = false;
      this.waitedInSlot = false;
    }
  }

  /** Whether a message is due now: the pending slot's window has begun and none started in it. */
  due(nowMs: number): boolean {
    return this.index < this.count && !this.sentInSlot && nowMs >= this.slotMs(this.index);
  }

  /** The pending slot's message was due while the publisher waited for the previous one's answer. */
  waited(): void {
    this.waitedInSlot = true;
  }

  /** A message started in the pending slot: returns the slot's time. */
  sent(): number {
    this.sentInSlot = true;
    return this.slotMs(this.index);
  }
}
