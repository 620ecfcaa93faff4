/**
 * The room WebSocket client on k6/websockets: event-driven, many sockets per VU.
 *
 * RoomSocket wraps one socket to `GET /ws?room_id=…` (token in the Authorization header, so it never lands in a
 * URL tag) and decodes the contract's frames. MessageSender sends through one socket with exactly one message
 * in flight (error frames carry no client_msg_id, so only then can an error frame be attributed to its send),
 * matches the own echo by the marker in the body, times out, and retries with the same client_msg_id.
 */
import { WebSocket } from 'k6/websockets';
import { clientMsgId, formatMarker, messageBody, parseBody, type Marker, type ParsedBody } from './marker.js';
import {
  messageStoreLatency,
  messageStoreSuccess,
  wsClosedEarly,
  wsDeliveryLatency,
  wsEchoTimeouts,
  wsErrorFrames,
  wsOpenFailed,
  wsSessionOk,
  wsAckViaDuplicate,
} from './metrics.js';
import type { Phase } from './phase.js';
import { withMeta } from './history.js';

export interface MessageFrame {
  type: 'message';
  room_id?: string;
  user_id?: string;
  payload?: { id?: string; body?: string; sender_id?: string; room_id?: string; created_at?: string };
}

export type ErrorKind = 'persist' | 'duplicate' | 'body' | 'unauthorized' | 'other';

export function classifyError(text: string): ErrorKind {
  const t = text.toLowerCase();
  if (t.includes('duplicate client_msg_id')) return 'duplicate';
  if (t.includes('persist')) return 'persist';
  if (t.includes('body required')) return 'body';
  if (t.includes('unauthorized')) return 'unauthorized';
  return 'other';
}

export interface RoomSocketHandlers {
  onOpen?: (s: RoomSocket) => void;
  /** A fan-out frame whose body carries a suite marker. */
  onMarked?: (s: RoomSocket, parsed: ParsedBody, frame: MessageFrame, recvMs: number) => void;
  onErrorFrame?: (s: RoomSocket, text: string, kind: ErrorKind) => void;
  onClose?: (s: RoomSocket, early: boolean) => void;
  /**
   * Cheap pre-filter on the raw frame text: frames it rejects are not decoded at all (a socket that only waits
   * for its own echo skips its room-mates' fan-out, which is most of the traffic in a busy room).
   * Error frames are always decoded.
   */
  wants?: (raw: string) => boolean;
}

export interface RoomSocketOptions {
  wsUrl: string;
  roomId: string;
  token: string;
  phase: (atMs?: number) => Phase;
  /** ms after which a socket still connecting counts as failed to open and is closed. */
  openTimeoutMs: number;
  tags?: Record<string, string>;
  /** Socket key for the history (sample metadata), e.g. `<run>:<inst>:h:<vu>:<iter>:sub3`. */
  label?: string;
}

export type SocketState = 'connecting' | 'open' | 'closing' | 'closed';

export class RoomSocket {
  state: SocketState = 'connecting';
  createdAtMs = Date.now();
  openedAtMs: number | undefined;
  closedAtMs: number | undefined;
  /** Closed by the server or the network before close() was called. */
  closedEarly = false;
  failedToOpen = false;
  private ws: WebSocket;
  private judged = false;

  constructor(
    readonly opts: RoomSocketOptions,
    private readonly h: RoomSocketHandlers,
  ) {
    const sep = opts.wsUrl.includes('?') ? '&' : '?';
    const url = `${opts.wsUrl}${sep}room_id=${encodeURIComponent(opts.roomId)}`;
    this.ws = new WebSocket(url, null, {
      headers: { Authorization: `Bearer ${opts.token}` },
      tags: { phase: opts.phase(), name: `${opts.wsUrl}?room_id=:id`, ...(opts.tags ?? {}) },
    });
    this.ws.onopen = () => {
      if (this.state !== 'connecting') return;
      this.state = 'open';
      this.openedAtMs = Date.now();
      this.h.onOpen?.(this);
    };
    this.ws.onmessage = (ev) => this.onMessage(ev?.data);
    this.ws.onerror = () => {
      // The close event follows; errors before open mean the socket never opened.
    };
    this.ws.onclose = () => this.onClosed();
  }

  /** Sends a JSON frame when open; false otherwise. */
  send(frame: unknown): boolean {
    if (this.state !== 'open') return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Planned close. Safe to call in any state. */
  close(): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    const wasConnecting = this.state === 'connecting';
    this.state = 'closing';
    if (wasConnecting) this.failedToOpen = true;
    try {
      this.ws.close();
    } catch {
      this.onClosed();
    }
  }

  /** Closes a socket still connecting after the open timeout. */
  checkOpenTimeout(nowMs: number): void {
    if (this.state === 'connecting' && nowMs - this.createdAtMs > this.opts.openTimeoutMs) this.close();
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    if (this.h.wants && !data.includes('"error"') && !this.h.wants(data)) return;
    let frame: { type?: string; error?: string; payload?: MessageFrame['payload'] };
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === 'error') {
      const text = String(frame.error ?? '');
      const kind = classifyError(text);
      wsErrorFrames.add(1, { error: kind, phase: this.opts.phase() });
      this.h.onErrorFrame?.(this, text, kind);
      return;
    }
    if (frame.type === 'message') {
      const parsed = parseBody(frame.payload?.body);
      if (parsed) this.h.onMarked?.(this, parsed, frame as MessageFrame, Date.now());
    }
  }

  private onClosed(): void {
    const prev = this.state;
    this.state = 'closed';
    this.closedAtMs ??= Date.now();
    if (this.openedAtMs === undefined) {
      this.failedToOpen = true;
    } else if (prev === 'open') {
      this.closedEarly = true;
    }
    this.judge();
    this.h.onClose?.(this, this.closedEarly);
  }

  /** One ws_session_ok sample per socket; ws_open_failed / ws_closed_early counted once. */
  private judge(): void {
    if (this.judged) return;
    this.judged = true;
    const tags = { phase: this.opts.phase() };
    if (this.failedToOpen) wsOpenFailed.add(1, tags);
    if (this.closedEarly) wsClosedEarly.add(1, tags);
    const meta = {
      socket: this.opts.label ?? '',
      room: this.opts.roomId,
      opened_ms: this.openedAtMs ?? 0,
      closed_ms: this.closedAtMs ?? Date.now(),
    };
    withMeta(meta, () => wsSessionOk.add(!this.failedToOpen && !this.closedEarly, tags));
  }
}

export interface SendOutcome {
  seq: number;
  id: string;
  /** time of the first attempt. */
  firstSendMs: number;
  acked: boolean;
  /** acked through a `duplicate client_msg_id` answer to a retry (stored earlier, echo not seen). */
  viaDuplicate: boolean;
  attempts: number;
  /** when the outcome became known (echo, error, timeout, socket closed). */
  resolvedMs: number;
}

interface InFlight {
  marker: Marker;
  id: string;
  firstSendMs: number;
  attemptSendMs: number;
  attempts: number;
}

export interface SenderOptions {
  ackTimeoutMs: number;
  maxRetries: number;
  phase: (atMs?: number) => Phase;
  /** For the history: the room id and the sender's user id. */
  room: string;
  sender: string;
}

/**
 * One sender stream over one socket: seq 0, 1, 2, …, one message in flight. Records message_store_success and
 * message_store_latency (transport ws) per attempt and ws_delivery_latency per echo.
 */
export class MessageSender {
  seq = 0;
  private inFlight: InFlight | undefined;
  /** Retry due at this time (after an error frame), if any. */
  private retryAtMs: number | undefined;
  readonly outcomes: SendOutcome[] = [];
  /** Outcomes kept only while small; counts are always kept. */
  acked = 0;
  failed = 0;

  constructor(
    private readonly sock: RoomSocket,
    private readonly base: Omit<Marker, 'seq'>,
    private readonly o: SenderOptions,
    private readonly keepOutcomes = false,
  ) {}

  /** One message_store_success sample for the in-flight attempt, with its history metadata. */
  private storeSample(ok: boolean, outcome: 'acked' | 'failed' | 'unknown', detail: string, latencyMs?: number): void {
    const f = this.inFlight!;
    const tags = { transport: 'ws', phase: this.o.phase(f.attemptSendMs) };
    withMeta({ marker: f.id, room: this.o.room, sender: this.o.sender, outcome, detail }, () => {
      messageStoreSuccess.add(ok, tags);
      if (latencyMs !== undefined) {
        messageStoreLatency.add(latencyMs, tags);
        wsDeliveryLatency.add(latencyMs, { phase: tags.phase });
      }
    });
  }

  /** Whether a raw frame may be this sender's echo (contains the in-flight marker). */
  mayBeEcho(raw: string): boolean {
    return this.inFlight !== undefined && raw.includes(this.inFlight.id);
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts the next message if none is in flight and the socket is open. */
  sendNext(nowMs = Date.now()): boolean {
    if (this.inFlight || this.sock.state !== 'open') return false;
    const marker: Marker = { ...this.base, seq: this.seq };
    this.seq += 1;
    this.inFlight = { marker, id: formatMarker(marker), firstSendMs: nowMs, attemptSendMs: nowMs, attempts: 0 };
    return this.attempt(nowMs);
  }

  private attempt(nowMs: number): boolean {
    const f = this.inFlight!;
    f.attempts += 1;
    f.attemptSendMs = nowMs;
    this.retryAtMs = undefined;
    return this.sock.send({
      type: 'message',
      payload: { client_msg_id: clientMsgId(f.marker), body: messageBody(f.marker, nowMs), file_ids: [], emojis: [] },
    });
  }

  /** Feed every marked frame this socket receives; true when it was this sender's echo. */
  onMarked(parsed: ParsedBody, recvMs: number): boolean {
    const f = this.inFlight;
    if (!f || parsed.id !== f.id) return false;
    this.storeSample(true, 'acked', 'echo', recvMs - f.attemptSendMs);
    this.finish(true, false);
    return true;
  }

  /** Feed every error frame of this socket. */
  onErrorFrame(kind: ErrorKind, nowMs = Date.now()): void {
    const f = this.inFlight;
    if (!f) return;
    if (kind === 'duplicate' && f.attempts > 1) {
      // A retry of a message stored earlier whose echo we did not see: stored once, acknowledged now.
      withMeta({ marker: f.id, room: this.o.room, sender: this.o.sender, outcome: 'acked', detail: 'duplicate' }, () =>
        wsAckViaDuplicate.add(1, { phase: this.o.phase(f.attemptSendMs) }),
      );
      this.finish(true, true);
      return;
    }
    this.storeSample(false, 'failed', kind);
    if (kind === 'persist' && f.attempts <= this.o.maxRetries) {
      this.retryAtMs = nowMs + 200;
      return;
    }
    this.finish(false, false);
  }

  /** Call often (every tick): echo timeouts and due retries. */
  tick(nowMs = Date.now()): void {
    const f = this.inFlight;
    if (!f) return;
    if (this.retryAtMs !== undefined) {
      if (nowMs >= this.retryAtMs) {
        if (this.sock.state === 'open') this.attempt(nowMs);
        else this.finish(false, false);
      }
      return;
    }
    if (nowMs - f.attemptSendMs >= this.o.ackTimeoutMs) {
      wsEchoTimeouts.add(1, { phase: this.o.phase(f.attemptSendMs) });
      this.storeSample(false, 'unknown', 'timeout');
      if (f.attempts <= this.o.maxRetries && this.sock.state === 'open') this.attempt(nowMs);
      else this.finish(false, false);
    }
  }

  /** The socket closed: a message still in flight has an unknown outcome (counted as a failed store). */
  abandon(): void {
    const f = this.inFlight;
    if (!f) return;
    if (this.retryAtMs === undefined) this.storeSample(false, 'unknown', 'closed');
    this.finish(false, false);
  }

  private finish(acked: boolean, viaDuplicate: boolean): void {
    const f = this.inFlight!;
    this.inFlight = undefined;
    this.retryAtMs = undefined;
    if (acked) this.acked += 1;
    else this.failed += 1;
    if (this.keepOutcomes) {
      this.outcomes.push({ seq: f.marker.seq, id: f.id, firstSendMs: f.firstSendMs, acked, viaDuplicate, attempts: f.attempts, resolvedMs: Date.now() });
    }
  }
}
