/**
 * The room WebSocket client on k6/websockets: event-driven, many sockets per VU.
 *
 * RoomSocket wraps one socket to `GET /ws?room_id=…` (token in the Authorization header, so it never lands in a
 * URL tag) and decodes the contract's frames. MessageSender sends through one socket with exactly one message
 * in flight (error frames carry no client_msg_id, so only then can an error frame be attributed to its send),
 * matches the own echo by the marker in the body, times out, and retries with the same client_msg_id.
 */
import { WebSocket } from 'k6/websockets';
import { clientMsgId, formatMarker, receiptInFrame, messageBody, parseBody, type Marker, type ParsedBody, type Receipt } from './marker.js';
import type { DeliveryDigest } from './delivery-digest.js';
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
  wsReconnectMs,
  wsReconnects,
} from './metrics.js';
import type { Phase } from './types.js';
import { withMeta } from './history.js';
import { phaseTags, storeTags } from './phase.js';
import { formatGaps, nextStep, sessionOk, type Gap, type ReconnectPolicy } from './reconnect.js';

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
  /** Every open: the first (`reopened` false) and each replacement after a disconnection (`reopened` true). */
  onOpen?: (s: RoomSocket, reopened: boolean) => void;
  /** A fan-out frame whose body carries a suite marker. */
  onMarked?: (s: RoomSocket, parsed: ParsedBody, frame: MessageFrame, recvMs: number) => void;
  onErrorFrame?: (s: RoomSocket, text: string, kind: ErrorKind) => void;
  /**
   * The open socket was closed by the server or the network (not by close()): a message in flight has an unknown
   * outcome now. A replacement may follow (onOpen with `reopened`).
   */
  onDisconnect?: (s: RoomSocket) => void;
  /** The socket ended for good: planned close, or (`early`) disconnected with no replacement to come. */
  onClose?: (s: RoomSocket, early: boolean) => void;
  /**
   * Cheap pre-filter on a marked frame (its raw text and the marker's stream key and seq, lib/marker.ts
   * receiptInFrame, taken once per frame): frames it rejects are not decoded at all (a socket that only waits for
   * its own echo skips its room-mates' fan-out, which is most of the traffic in a busy room). Frames without a
   * marker are decoded only when they may be error frames; error frames are always decoded.
   */
  wants?: (raw: string, receipt: Receipt) => boolean;
  /**
   * Read only the marker at the start of a message frame's body from the raw text, without decoding the frame
   * (hot-room subscribers of big, padded messages: JSON.parse of every 64 KB frame would cost the load generator
   * more than the target). onMarked then gets a frame with `type` only. Error frames are always decoded.
   */
  markerOnly?: boolean;
}

export interface RoomSocketOptions {
  wsUrl: string;
  roomId: string;
  token: string;
  phase: (atMs?: number) => Phase;
  /** ms after which a connection attempt still connecting counts as failed to open (and is closed). */
  openTimeoutMs: number;
  tags?: Record<string, string>;
  /** Socket key for the history (sample metadata), e.g. `<run>:<inst>:h:<vu>:<iter>:sub3`. */
  label?: string;
  /** Reconnect after an unplanned close or a failed open (lib/reconnect.ts); unset: the socket ends there. */
  reconnect?: ReconnectPolicy;
  /** The planned end of the socket's span (epoch ms): no attempt at or after it. Default: no bound but attempts. */
  plannedEndMs?: number;
  /**
   * Records every marked fan-out frame this socket receives (lib/delivery-digest.ts), before any `wants` filter;
   * sent once with the socket's ws_session_ok sample for the integrity check's delivery judgement.
   */
  digest?: DeliveryDigest;
}

/** `waiting`: disconnected, the next attempt is due at `retryAtMs` (or none before the planned end). */
export type SocketState = 'connecting' | 'open' | 'waiting' | 'closing' | 'closed';

/** One connected stretch of a socket; `closeMs` unset while it lasts. */
export interface Span {
  openMs: number;
  closeMs?: number;
}

/**
 * One room socket over its planned span: the same room as the same user throughout. After an unplanned close or a
 * failed open it opens a replacement connection with backoff (opts.reconnect), so one RoomSocket may be several
 * connections in turn; `spans` are the stretches it was connected, `gaps` the disconnections.
 *
 * Metrics: `ws_open_failed` per failed connection attempt, `ws_closed_early` per unplanned close of an open
 * connection, `ws_reconnects` + `ws_reconnect_ms` per replacement opened (tagged with the phase of the
 * disconnection), one `ws_session_ok` per socket when it ends (lib/reconnect.ts `sessionOk`).
 */
export class RoomSocket {
  state: SocketState = 'connecting';
  createdAtMs = Date.now();
  /** First open. */
  openedAtMs: number | undefined;
  /** Final end (planned close or give-up). */
  closedAtMs: number | undefined;
  /** Ended disconnected: closed by the server or the network and not replaced. */
  closedEarly = false;
  /** Never opened. */
  failedToOpen = false;
  /** Attempts ran out. */
  gaveUp = false;
  readonly spans: Span[] = [];
  readonly gaps: Gap[] = [];
  /** Replacements opened. */
  reconnects = 0;
  /** Next attempt due (state `waiting`); undefined: none before the planned end. */
  retryAtMs: number | undefined;
  private ws: WebSocket | undefined;
  private attemptStartMs = Date.now();
  /** The current connection has neither opened nor failed yet. */
  private attemptPending = false;
  /** Attempts made in the current outage. */
  private attempt = 0;
  private judged = false;

  constructor(
    readonly opts: RoomSocketOptions,
    private readonly h: RoomSocketHandlers,
  ) {
    this.connect();
  }

  private connect(): void {
    const o = this.opts;
    const sep = o.wsUrl.includes('?') ? '&' : '?';
    const url = `${o.wsUrl}${sep}room_id=${encodeURIComponent(o.roomId)}`;
    this.state = 'connecting';
    this.attemptPending = true;
    this.attemptStartMs = Date.now();
    const ws = new WebSocket(url, null, {
      headers: { Authorization: `Bearer ${o.token}` },
      tags: { phase: o.phase(), name: `${o.wsUrl}?room_id=:id`, ...(o.tags ?? {}) },
    });
    this.ws = ws;
    // Events of a connection this socket has already left behind (timed out) are ignored; one that opens after
    // all is closed at once.
    ws.onopen = () => {
      if (this.ws === ws) this.onOpened();
      else ws.close();
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onMessage(ev?.data);
    };
    ws.onerror = () => {
      // The close event follows; errors before open mean the attempt failed.
    };
    ws.onclose = () => {
      if (this.ws === ws) this.onConnectionClosed();
    };
  }

  /** Sends a JSON frame when open; false otherwise. */
  send(frame: unknown): boolean {
    if (this.state !== 'open' || !this.ws) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Planned close. Safe to call in any state; never followed by a reconnect. k6 (v1.8.1) blocks the VU for good
   * when close() is called on a WebSocket still connecting, so an attempt in progress is closed once it opens
   * (or ends by itself when it fails).
   */
  close(): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'waiting') return this.end(false);
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    if (!wasOpen) return;
    try {
      this.ws!.close();
    } catch {
      this.onConnectionClosed();
    }
  }

  /** When tick() next has something to do (epoch ms; Infinity: nothing until an event). */
  nextDueMs(): number {
    const connecting = this.state === 'connecting' || (this.state === 'closing' && this.attemptPending);
    if (connecting) return this.attemptStartMs + this.opts.openTimeoutMs + 1;
    return this.state === 'waiting' && this.retryAtMs !== undefined ? this.retryAtMs : Number.POSITIVE_INFINITY;
  }

  /** Call often (every tick): a connection attempt past the open timeout fails; a due reconnect starts. */
  tick(nowMs = Date.now()): void {
    const connecting = this.state === 'connecting' || (this.state === 'closing' && this.attemptPending);
    if (connecting && nowMs - this.attemptStartMs > this.opts.openTimeoutMs) {
      // Left behind, not closed (see close()): if it opens after all, its open handler closes it.
      this.ws = undefined;
      this.attemptPending = false;
      if (this.state === 'closing') this.end(false);
      else this.onAttemptFailed(nowMs);
    } else if (this.state === 'waiting' && this.retryAtMs !== undefined && nowMs >= this.retryAtMs) {
      this.retryAtMs = undefined;
      this.connect();
    }
  }

  private onOpened(): void {
    this.attemptPending = false;
    if (this.state === 'closing') {
      // Closed (planned) while it was connecting: close it now that k6 can.
      this.ws!.close();
      return;
    }
    if (this.state !== 'connecting') return;
    const now = Date.now();
    this.state = 'open';
    this.spans.push({ openMs: now });
    const reopened = this.openedAtMs !== undefined || this.gaps.length > 0;
    this.openedAtMs ??= now;
    const gap = this.gaps[this.gaps.length - 1];
    if (gap && gap.upMs === undefined) {
      gap.upMs = now;
      this.reconnects += 1;
      const tags = { phase: this.opts.phase(gap.downMs) };
      wsReconnects.add(1, tags);
      wsReconnectMs.add(now - gap.downMs, tags);
    }
    this.h.onOpen?.(this, reopened);
  }

  private onConnectionClosed(): void {
    this.attemptPending = false;
    const now = Date.now();
    const prev = this.state;
    if (prev === 'closing') {
      const span = this.spans[this.spans.length - 1];
      if (span && span.closeMs === undefined) span.closeMs = now;
      return this.end(false);
    }
    if (prev === 'open') {
      // Unplanned: the server or the network closed it.
      this.spans[this.spans.length - 1]!.closeMs = now;
      wsClosedEarly.add(1, { phase: this.opts.phase(now) });
      this.gaps.push({ downMs: now });
      // A replacement that stayed open capMs was stable: this is a new outage.
      const lasted = now - this.spans[this.spans.length - 1]!.openMs;
      if (this.opts.reconnect && lasted >= this.opts.reconnect.capMs) this.attempt = 0;
      this.h.onDisconnect?.(this);
      return this.retryOrEnd(now);
    }
    if (prev === 'connecting') this.onAttemptFailed(now);
  }

  /** A connection attempt that never opened (refused, non-101 answer, open timeout). */
  private onAttemptFailed(nowMs: number): void {
    wsOpenFailed.add(1, { phase: this.opts.phase(nowMs) });
    // A failed first open: the socket has been disconnected since it was created.
    if (this.gaps.length === 0 && this.openedAtMs === undefined) this.gaps.push({ downMs: this.createdAtMs });
    this.retryOrEnd(nowMs);
  }

  private retryOrEnd(nowMs: number): void {
    this.ws = undefined;
    const p = this.opts.reconnect;
    if (!p) return this.end(true);
    const step = nextStep(p, this.attempt, nowMs, this.opts.plannedEndMs ?? Number.POSITIVE_INFINITY);
    if (step === 'give-up') {
      this.gaveUp = true;
      return this.end(true);
    }
    this.state = 'waiting';
    if (step === 'wait-for-end') {
      this.retryAtMs = undefined;
      return;
    }
    this.attempt += 1;
    this.retryAtMs = step.retryAtMs;
  }

  private end(early: boolean): void {
    if (this.state === 'closed') return;
    const disconnected = this.gaps.length > 0 && this.gaps[this.gaps.length - 1]!.upMs === undefined;
    this.state = 'closed';
    this.retryAtMs = undefined;
    this.ws = undefined;
    this.closedAtMs ??= Date.now();
    if (this.openedAtMs === undefined) this.failedToOpen = true;
    else if (early || disconnected) this.closedEarly = true;
    this.judge();
    this.h.onClose?.(this, early || disconnected);
  }

  /** One ws_session_ok sample per socket, with the history metadata (spans and gaps). */
  private judge(): void {
    if (this.judged) return;
    this.judged = true;
    const endMs = this.closedAtMs ?? Date.now();
    const tags = { phase: this.opts.phase() };
    const ok = this.opts.reconnect
      ? sessionOk(this.opts.reconnect, { opened: this.openedAtMs !== undefined, gaveUp: this.gaveUp, gaps: this.gaps, endMs })
      : !this.failedToOpen && !this.closedEarly;
    const meta = {
      socket: this.opts.label ?? '',
      room: this.opts.roomId,
      opened_ms: this.openedAtMs ?? 0,
      closed_ms: endMs,
      // Disconnections inside [opened_ms, closed_ms] (not the wait for a failed first open): integrity judges
      // delivery only over the connected spans.
      gaps: formatGaps(this.gaps.filter((g) => this.openedAtMs !== undefined && g.downMs >= this.openedAtMs), endMs),
      ...(this.opts.digest ? { digest: this.opts.digest.encode() } : {}),
    };
    withMeta(meta, () => wsSessionOk.add(ok, tags));
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    // the marker's stream and seq, found once per frame, serve the digest and the pre-filter alike
    const r = this.opts.digest || this.h.wants ? receiptInFrame(data) : undefined;
    if (r && this.opts.digest) this.opts.digest.record(r.key, r.seq);
    if (this.h.wants && !(r ? this.h.wants(data, r) : data.includes('"error"'))) return;
    if (this.h.markerOnly && !data.includes('"error"')) {
      const at = data.indexOf('"body":"');
      const parsed = at >= 0 ? parseBody(data.slice(at + 8, at + 8 + 200)) : undefined;
      if (parsed) this.h.onMarked?.(this, parsed, { type: 'message' }, Date.now());
      return;
    }
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
  /** The body of the latest attempt. */
  body: string;
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
  /** Text after the marker in every body (lib/marker.ts messageBody); hot-room slow consumers pad it. */
  filler?: string;
  /** Called for every acknowledged message (e.g. lib/idempotency.ts repeats its client_msg_id). */
  onAcked?: (m: { id: string; clientMsgId: string; body: string; resolvedMs: number }) => void;
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

  /** One message_store_success sample for the in-flight attempt, with its history metadata, and its latencies. */
  private storeSample(ok: boolean, outcome: 'acked' | 'failed' | 'unknown', detail: string, latencyMs?: number): void {
    const f = this.inFlight!;
    const tags = storeTags('ws', this.o.phase(f.attemptSendMs));
    withMeta({ marker: f.id, room: this.o.room, sender: this.o.sender, outcome, detail }, () => messageStoreSuccess.add(ok, tags));
    // the latencies carry no metadata: the integrity check and the drills read it from message_store_success only
    if (latencyMs !== undefined) {
      messageStoreLatency.add(latencyMs, tags);
      wsDeliveryLatency.add(latencyMs, phaseTags(tags.phase));
    }
  }

  /** Whether a raw frame may be this sender's echo (contains the in-flight marker). */
  mayBeEcho(raw: string): boolean {
    return this.inFlight !== undefined && raw.includes(this.inFlight.id);
  }

  /** When tick() next has something to do (epoch ms; Infinity: nothing in flight). */
  nextDueMs(): number {
    const f = this.inFlight;
    if (!f) return Number.POSITIVE_INFINITY;
    return this.retryAtMs ?? f.attemptSendMs + this.o.ackTimeoutMs;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Starts the next message if none is in flight and the socket is open. */
  sendNext(nowMs = Date.now()): boolean {
    if (this.inFlight || this.sock.state !== 'open') return false;
    const marker: Marker = { ...this.base, seq: this.seq };
    this.seq += 1;
    this.inFlight = { marker, id: formatMarker(marker), body: '', firstSendMs: nowMs, attemptSendMs: nowMs, attempts: 0 };
    return this.attempt(nowMs);
  }

  private attempt(nowMs: number): boolean {
    const f = this.inFlight!;
    f.attempts += 1;
    f.attemptSendMs = nowMs;
    this.retryAtMs = undefined;
    f.body = messageBody(f.marker, nowMs, this.o.filler);
    return this.sock.send({
      type: 'message',
      payload: { client_msg_id: clientMsgId(f.marker), body: f.body, file_ids: [], emojis: [] },
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
    if (acked) this.o.onAcked?.({ id: f.id, clientMsgId: clientMsgId(f.marker), body: f.body, resolvedMs: Date.now() });
    if (this.keepOutcomes) {
      this.outcomes.push({ seq: f.marker.seq, id: f.id, firstSendMs: f.firstSendMs, acked, viaDuplicate, attempts: f.attempts, resolvedMs: Date.now() });
    }
  }
}
