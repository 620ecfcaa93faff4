/**
 * The idempotency probe: after a share of acknowledged WS messages, the socket sends the very same frame again
 * (same client_msg_id, same body), as a client does that lost its acknowledgement. The contract's answer is the
 * error frame `duplicate client_msg_id` and one stored copy; the integrity check counts a second stored copy of a
 * repeated marker as an idempotency failure.
 *
 * Repeats alternate between the very same frame 200 ms after the acknowledgement and, later (`lateDelayMs`), the
 * same client_msg_id with a fresh send time in the body: a target that keys its dedup on the body, or keeps the
 * key only briefly, is caught too.
 *
 * One frame in flight per socket (error frames carry no client_msg_id): the probe sends only while the socket's
 * MessageSender is idle, and the sender sends only while the probe is idle (the caller checks `busy` of both).
 * One `ws_repeat_answer` sample per repeat, answer `refused` (the contract's error frame), `accepted` (an echo of
 * the marker came back: stored again), `error` (another error frame) or `timeout`, with the marker as metadata.
 */
import { withMeta } from './history.js';
import { wsRepeatAnswers } from './metrics.js';
import type { ErrorKind, RoomSocket } from './ws.js';
import type { ParsedBody } from './marker.js';
import type { Phase } from './types.js';
import { repeatsAfter } from './send-pattern.js';

export type RepeatAnswer = 'refused' | 'accepted' | 'error' | 'timeout';

export interface RepeatOptions {
  /** Repeat after every Nth acknowledged message of the socket (0 = never). */
  every: number;
  /** Repeat the socket's first acknowledged message too (one socket per VU does: short sessions repeat as well). */
  first: boolean;
  /** Wait this long after the acknowledgement (so the original's fan-out has passed). */
  delayMs: number;
  /** Every second repeat waits this long instead, with a fresh `t=` in its body. */
  lateDelayMs: number;
  timeoutMs: number;
  phase: (atMs?: number) => Phase;
  room: string;
  sender: string;
}


interface Pending {
  marker: string;
  clientMsgId: string;
  body: string;
  dueMs: number;
  /** Send with a fresh `t=` in the body (same marker, same client_msg_id). */
  freshBody: boolean;
  sentMs?: number;
}

export class RepeatProbe {
  private acks = 0;
  private scheduled = 0;
  private pending: Pending | undefined;
  repeats = 0;

  constructor(
    private readonly sock: RoomSocket,
    private readonly o: RepeatOptions,
  ) {}

  /** Feed every acknowledgement of the socket's sender (SenderOptions.onAcked). */
  onAcked(m: { id: string; clientMsgId: string; body: string; resolvedMs: number }): void {
    const n = this.acks++;
    if (this.pending || !repeatsAfter(n, this.o.every, this.o.first)) return;
    const late = this.scheduled++ % 2 === 1;
    this.pending = { marker: m.id, clientMsgId: m.clientMsgId, body: m.body, dueMs: m.resolvedMs + (late ? this.o.lateDelayMs : this.o.delayMs), freshBody: late };
  }

  /** A repeat is due or waiting for its answer. */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** In flight (sent, not answered): error frames and the marker's echo are this probe's. */
  get inFlight(): boolean {
    return this.pending?.sentMs !== undefined;
  }

  mayBeEcho(raw: string): boolean {
    return this.inFlight && raw.includes(this.pending!.marker);
  }

  /** When tick() next has something to do (epoch ms; Infinity: no repeat pending). */
  nextDueMs(): number {
    const p = this.pending;
    if (!p) return Number.POSITIVE_INFINITY;
    return p.sentMs === undefined ? p.dueMs : p.sentMs + this.o.timeoutMs;
  }

  /** Sends a due repeat when `idle` (the sender has nothing in flight); times out an unanswered one. */
  tick(nowMs: number, idle: boolean): void {
    const p = this.pending;
    if (!p) return;
    if (p.sentMs === undefined) {
      if (nowMs < p.dueMs || !idle) return;
      if (this.sock.state !== 'open') {
        this.pending = undefined;
        return;
      }
      p.sentMs = nowMs;
      this.repeats += 1;
      const body = p.freshBody ? p.body.replace(/ t=\d+/, ` t=${nowMs}`) : p.body;
      this.sock.send({ type: 'message', payload: { client_msg_id: p.clientMsgId, body, file_ids: [], emojis: [] } });
      return;
    }
    if (nowMs - p.sentMs >= this.o.timeoutMs) this.answer('timeout');
  }

  /** True when the error frame was the repeat's answer. */
  onErrorFrame(kind: ErrorKind): boolean {
    if (!this.inFlight) return false;
    this.answer(kind === 'duplicate' ? 'refused' : 'error', kind);
    return true;
  }

  /** True when the frame was the repeated marker's echo: the target stored the repeat. */
  onMarked(parsed: ParsedBody): boolean {
    if (!this.inFlight || parsed.id !== this.pending!.marker) return false;
    this.answer('accepted');
    return true;
  }

  /** The socket closed: an unanswered repeat is dropped (its answer is unknown; the stored copies still tell). */
  abandon(): void {
    if (this.inFlight) this.answer('timeout', 'closed');
    this.pending = undefined;
  }

  private answer(answer: RepeatAnswer, detail = ''): void {
    const p = this.pending!;
    this.pending = undefined;
    const tags = { answer, phase: this.o.phase(p.sentMs) };
    withMeta({ marker: p.marker, room: this.o.room, sender: this.o.sender, answer, detail }, () => wsRepeatAnswers.add(1, tags));
  }
}
