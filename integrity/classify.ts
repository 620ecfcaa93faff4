/**
 * The integrity judgement (pure): a run's message history against what the rooms hold afterwards.
 *
 * Per marker (one message, all its send attempts):
 * - stored more than once → `duplicates` (whatever the sender was told);
 * - acknowledged (any attempt: HTTP 201, own echo, or a retry refused as duplicate) and stored once → `ok`;
 * - acknowledged and not stored → `lost`;
 * - failed or unknown and stored once → `indeterminate` (the client could not know; reported, not an error);
 *   a marked message stored without any recorded send (e.g. k6 stopped with it in flight) is indeterminate too;
 * - failed or unknown and not stored → consistent, counted as `failedNotStored`.
 * Per (stored message × recorded subscriber of its room that was open from before the send until `spanMs` after
 * the outcome became known): never received → `undelivered` (counted per pair). A subscriber that reconnected
 * is judged only over the spans it was connected: when one of its disconnections overlaps that window, a
 * message it never received is `missedWhileReconnecting` (per pair, not an anomaly), not `undelivered`.
 * Per recorded subscriber and sender stream, in receipt order: a seq lower than one already received →
 * `reordered` (counted per late receipt).
 *
 * Only subscribers whose receipts are recorded count (socket keys ending in `:sub<j>`: the hot-room subscribers).
 */
import { parseBody, senderKey } from '../lib/marker.js';
import type { History, Send, SocketSpan } from './history.js';

export interface StoredMessage {
  id: string;
  room: string;
  body: string;
  createdAt?: string;
}

export const COUNT_KEYS = ['ok', 'lost', 'duplicates', 'indeterminate', 'undelivered', 'reordered'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];

export const MAX_EXAMPLES = 20;

export interface Example {
  marker: string;
  room: string;
  [k: string]: unknown;
}

/** The six counts of issue 6. */
export type Counts = Record<CountKey, number>;

export interface Classification extends Counts {
  /** Sends that failed or had an unknown outcome and were not stored: consistent. */
  failedNotStored: number;
  /** Distinct markers judged (sent or found stored). */
  messages: number;
  /** Extra stored copies beyond the first, over all duplicated markers. */
  extraCopies: number;
  /** (message × subscriber) pairs judged for delivery. */
  deliveriesJudged: number;
  /** (stored message × subscriber) pairs not received because the subscriber was reconnecting meanwhile. */
  missedWhileReconnecting: number;
  examples: Record<Exclude<CountKey, 'ok'>, Example[]>;
}

export interface ClassifyOptions {
  /** A subscriber must stay open this long after a message's outcome became known to be expected to get it. */
  spanMs?: number;
  maxExamples?: number;
}

export const SUBSCRIBER_KEY = /:sub\d+$/;

function outcomeOf(s: Send): { acked: boolean; outcome: string; resolvedMs: number } {
  const acked = s.attempts.some((a) => a.outcome === 'acked');
  const last = s.attempts[s.attempts.length - 1];
  const resolvedMs = Math.max(s.sendMs, ...s.attempts.map((a) => a.atMs));
  return { acked, outcome: acked ? 'acked' : (last?.outcome ?? 'unknown'), resolvedMs };
}

/** `stored`: every message read back from the rooms the history used (bodies without a marker are ignored). */
export function classify(history: History, stored: readonly StoredMessage[], opts: ClassifyOptions = {}): Classification {
  const spanMs = opts.spanMs ?? 1000;
  const maxEx = opts.maxExamples ?? MAX_EXAMPLES;
  const c: Classification = {
    ok: 0, lost: 0, duplicates: 0, indeterminate: 0, undelivered: 0, reordered: 0,
    failedNotStored: 0, messages: 0, extraCopies: 0, deliveriesJudged: 0, missedWhileReconnecting: 0,
    examples: { lost: [], duplicates: [], indeterminate: [], undelivered: [], reordered: [] },
  };
  const example = (k: keyof Classification['examples'], e: Example) => {
    if (c.examples[k].length < maxEx) c.examples[k].push(e);
  };

  // Stored copies per marker.
  const copies = new Map<string, StoredMessage[]>();
  for (const m of stored) {
    const p = parseBody(m.body);
    if (!p) continue;
    let l = copies.get(p.id);
    if (!l) copies.set(p.id, (l = []));
    l.push(m);
  }

  const markers = new Set<string>([...history.sends.keys(), ...copies.keys()]);
  for (const marker of markers) {
    c.messages += 1;
    const s = history.sends.get(marker);
    const got = copies.get(marker) ?? [];
    const room = s?.room ?? got[0]?.room ?? '';
    const o = s ? outcomeOf(s) : { acked: false, outcome: 'no history', resolvedMs: 0 };
    const attempts = s?.attempts.map((a) => `${a.outcome}${a.detail ? ` (${a.detail})` : ''}`) ?? [];
    if (got.length > 1) {
      c.duplicates += 1;
      c.extraCopies += got.length - 1;
      example('duplicates', { marker, room, outcome: o.outcome, attempts, copies: got.length, ids: got.map((g) => g.id) });
    } else if (o.acked) {
      if (got.length === 1) c.ok += 1;
      else {
        c.lost += 1;
        example('lost', { marker, room, outcome: o.outcome, attempts });
      }
    } else if (got.length === 1) {
      c.indeterminate += 1;
      example('indeterminate', { marker, room, outcome: o.outcome, attempts, id: got[0]!.id });
    } else {
      c.failedNotStored += 1;
    }
  }

  // Delivery: every stored marked message × every recorded subscriber of its room open over its span.
  const subsByRoom = new Map<string, SocketSpan[]>();
  for (const sp of history.sockets.values()) {
    if (!SUBSCRIBER_KEY.test(sp.socket) || sp.openedMs <= 0) continue;
    let l = subsByRoom.get(sp.room);
    if (!l) subsByRoom.set(sp.room, (l = []));
    l.push(sp);
  }
  const received = new Map<string, Set<string>>();
  for (const [receiver, list] of history.receipts) received.set(receiver, new Set(list.map((r) => r.marker)));
  for (const [marker, got] of copies) {
    const room = got[0]!.room;
    const subs = subsByRoom.get(room);
    if (!subs) continue;
    const s = history.sends.get(marker);
    const sendMs = parseBody(got[0]!.body)?.sendMs ?? s?.sendMs;
    if (sendMs === undefined) continue;
    const untilMs = (s ? outcomeOf(s).resolvedMs : sendMs) + spanMs;
    for (const sub of subs) {
      if (sub.openedMs > sendMs || sub.closedMs < untilMs) continue;
      const heard = received.get(sub.socket)?.has(marker) ?? false;
      if (sub.gaps.some((g) => g.downMs <= untilMs && g.upMs >= sendMs)) {
        if (!heard) c.missedWhileReconnecting += 1;
        continue;
      }
      c.deliveriesJudged += 1;
      if (heard) continue;
      c.undelivered += 1;
      example('undelivered', { marker, room, receiver: sub.socket, sentAt: new Date(sendMs).toISOString(), subscriberOpen: [new Date(sub.openedMs).toISOString(), new Date(sub.closedMs).toISOString()] });
    }
  }

  // Order per subscriber and sender stream, in receipt order (stable by time).
  for (const [receiver, list] of history.receipts) {
    const ordered = list.map((r, i) => ({ r, i })).sort((a, b) => a.r.atMs - b.r.atMs || a.i - b.i);
    const maxSeq = new Map<string, { seq: number; marker: string }>();
    for (const { r } of ordered) {
      const p = parseBody(r.marker);
      if (!p) continue;
      const key = senderKey(p.marker);
      const prev = maxSeq.get(key);
      if (prev && p.marker.seq < prev.seq) {
        c.reordered += 1;
        example('reordered', { marker: r.marker, room: history.sends.get(r.marker)?.room ?? '', receiver, after: prev.marker });
      } else if (!prev || p.marker.seq > prev.seq) {
        maxSeq.set(key, { seq: p.marker.seq, marker: r.marker });
      }
    }
  }
  return c;
}
