/**
 * The integrity judgement (pure): a run's message history against what the rooms hold afterwards.
 *
 * Per marker (one message, all its send attempts):
 * - stored more than once → `duplicates` (whatever the sender was told); when the suite repeated its
 *   client_msg_id on purpose (lib/idempotency.ts) it is also an `idempotency` failure;
 * - acknowledged (any attempt: HTTP 201, own echo, or a retry refused as duplicate) and stored once → `ok`, or
 *   `late` when it became visible only on a re-read after the first (completeness.ts), with the lag;
 * - acknowledged and not stored → `lost` when its room was read completely; in an `unverified` room (its
 *   paging could not be trusted, completeness.ts) it is not judged (`details.unverifiedMessages`);
 * - failed or unknown and stored once → `indeterminate` (the client could not know; reported, not an error);
 *   a marked message stored without any recorded send (e.g. k6 stopped with it in flight) is indeterminate too;
 * - failed or unknown and not stored → consistent, counted as `failedNotStored`.
 *
 * Per (stored message × socket of its room with a delivery digest, other than the sender's own, connected from
 * before the send until `spanMs` after the outcome became known): not in the digest → `undelivered`. A socket that
 * reconnected is judged only over its connected spans: when one of its disconnections overlaps that window, a
 * message it never received is `missedWhileReconnecting` (per pair, not an anomaly).
 * Per socket, from its digest: a second receipt of one message → `duplicateDeliveries` (unless the message is
 * stored twice: then two deliveries are right); a seq below one already received from that sender →
 * `reordered` (per late receipt).
 */
import { decodeDigest, digestHas, streamKey, type DecodedDigest } from '../lib/delivery-digest.js';
import { parseBody, senderKey } from '../lib/marker.js';
import type { LateSighting } from './completeness.js';
import type { History, Send, SocketSpan } from './history.js';

export interface StoredMessage {
  id: string;
  room: string;
  body: string;
  createdAt?: string;
}

export const COUNT_KEYS = ['ok', 'lost', 'duplicates', 'indeterminate', 'undelivered', 'reordered', 'late', 'unverified', 'duplicateDeliveries', 'idempotency'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];
export type ExampleKey = Exclude<CountKey, 'ok'>;

export const MAX_EXAMPLES = 20;

/** One example of an anomaly: a message (`marker`) or, for `unverified`, a room. */
export interface Example {
  marker?: string;
  room: string;
  [k: string]: unknown;
}

export type Counts = Record<CountKey, number>;

export interface Classification extends Counts {
  /** Sends that failed or had an unknown outcome and were not stored: consistent. */
  failedNotStored: number;
  /** Distinct markers judged (sent or found stored). */
  messages: number;
  /** Acknowledged markers judged for loss (in rooms read completely). */
  ackedJudged: number;
  /** Markers with at least one stored copy. */
  storedJudged: number;
  /** Extra stored copies beyond the first, over all duplicated markers. */
  extraCopies: number;
  /** (message × socket) pairs judged for delivery. */
  deliveriesJudged: number;
  /** Sockets whose digest was judged. */
  socketsJudged: number;
  /** (stored message × socket) pairs not received because the socket was reconnecting meanwhile. */
  missedWhileReconnecting: number;
  /** Acknowledged markers missing in unverified rooms: not judged. */
  unverifiedMessages: number;
  /** Markers whose client_msg_id was repeated on purpose, and how the target answered the repeats. */
  repeatsJudged: number;
  repeatAnswers: Record<string, number>;
  /** Late messages: visibility lag after the acknowledgement (ms; an upper bound: first re-read that saw it). */
  lateLagMs: { max: number; median: number } | null;
  /** Receipts not recorded because a socket heard more sender streams than its digest keeps. */
  digestOverflow: number;
  examples: Record<ExampleKey, Example[]>;
}

export interface ClassifyOptions {
  /** A socket must stay open this long after a message's outcome became known to be expected to get it. */
  spanMs?: number;
  maxExamples?: number;
  /** Rooms whose read-back could not be trusted (completeness.ts): their missing messages are not lost. */
  unverifiedRooms?: ReadonlySet<string>;
  /** Markers that appeared only on a re-read (completeness.ts). */
  late?: ReadonlyMap<string, LateSighting>;
}

function outcomeOf(s: Send): { acked: boolean; outcome: string; resolvedMs: number; ackMs: number | undefined } {
  const acked = s.attempts.some((a) => a.outcome === 'acked');
  const last = s.attempts[s.attempts.length - 1];
  const resolvedMs = Math.max(s.sendMs, ...s.attempts.map((a) => a.atMs));
  const ack = s.attempts.find((a) => a.outcome === 'acked');
  return { acked, outcome: acked ? 'acked' : (last?.outcome ?? 'unknown'), resolvedMs, ackMs: ack?.atMs };
}

function emptyClassification(): Classification {
  return {
    ok: 0, lost: 0, duplicates: 0, indeterminate: 0, undelivered: 0, reordered: 0, late: 0, unverified: 0, duplicateDeliveries: 0, idempotency: 0,
    failedNotStored: 0, messages: 0, ackedJudged: 0, storedJudged: 0, extraCopies: 0, deliveriesJudged: 0, socketsJudged: 0, missedWhileReconnecting: 0,
    unverifiedMessages: 0, repeatsJudged: 0, repeatAnswers: {}, lateLagMs: null, digestOverflow: 0,
    examples: { lost: [], duplicates: [], indeterminate: [], undelivered: [], reordered: [], late: [], unverified: [], duplicateDeliveries: [], idempotency: [] },
  };
}

/** Stored copies per marker (bodies without a marker are ignored). */
export function copiesByMarker(stored: readonly StoredMessage[]): Map<string, StoredMessage[]> {
  const copies = new Map<string, StoredMessage[]>();
  for (const m of stored) {
    const p = parseBody(m.body);
    if (!p) continue;
    let l = copies.get(p.id);
    if (!l) copies.set(p.id, (l = []));
    l.push(m);
  }
  return copies;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `stored`: every message read back from the rooms the history used. */
export function classify(history: History, stored: readonly StoredMessage[], opts: ClassifyOptions = {}): Classification {
  const c = emptyClassification();
  const maxEx = opts.maxExamples ?? MAX_EXAMPLES;
  const example = (k: ExampleKey, e: Example) => {
    if (c.examples[k].length < maxEx) c.examples[k].push(e);
  };
  const copies = copiesByMarker(stored);
  classifyMessages(history, copies, opts, c, example);
  classifyRepeats(history, copies, c, example);
  classifyDelivery(history, copies, opts.spanMs ?? 1000, c, example);
  return c;
}

type AddExample = (k: ExampleKey, e: Example) => void;

function classifyMessages(history: History, copies: Map<string, StoredMessage[]>, opts: ClassifyOptions, c: Classification, example: AddExample): void {
  const unverified = opts.unverifiedRooms ?? new Set<string>();
  const late = opts.late ?? new Map<string, LateSighting>();
  const lags: number[] = [];
  const markers = new Set<string>([...history.sends.keys(), ...copies.keys()]);
  for (const marker of markers) {
    c.messages += 1;
    const s = history.sends.get(marker);
    const got = copies.get(marker) ?? [];
    if (got.length > 0) c.storedJudged += 1;
    const room = s?.room ?? got[0]?.room ?? '';
    const o = s ? outcomeOf(s) : { acked: false, outcome: 'no history', resolvedMs: 0, ackMs: undefined };
    const attempts = s?.attempts.map((a) => `${a.outcome}${a.detail ? ` (${a.detail})` : ''}`) ?? [];
    if (o.acked && !(got.length === 0 && unverified.has(room))) c.ackedJudged += 1;
    if (got.length > 1) {
      c.duplicates += 1;
      c.extraCopies += got.length - 1;
      example('duplicates', { marker, room, outcome: o.outcome, attempts, copies: got.length, ids: got.map((g) => g.id) });
    } else if (o.acked) {
      const seen = late.get(marker);
      if (got.length === 1 && seen) {
        c.late += 1;
        const lagMs = Math.max(0, seen.firstSeenMs - (o.ackMs ?? o.resolvedMs));
        lags.push(lagMs);
        example('late', { marker, room, ackedAt: iso(o.ackMs ?? o.resolvedMs), notVisibleAt: iso(seen.lastMissingMs), visibleAt: iso(seen.firstSeenMs), lagMs });
      } else if (got.length === 1) c.ok += 1;
      else if (unverified.has(room)) c.unverifiedMessages += 1;
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
  if (lags.length) {
    lags.sort((a, b) => a - b);
    c.lateLagMs = { max: lags[lags.length - 1]!, median: lags[Math.floor((lags.length - 1) / 2)]! };
  }
}

function classifyRepeats(history: History, copies: Map<string, StoredMessage[]>, c: Classification, example: AddExample): void {
  for (const [marker, repeats] of history.repeats) {
    c.repeatsJudged += 1;
    for (const r of repeats) c.repeatAnswers[r.answer] = (c.repeatAnswers[r.answer] ?? 0) + 1;
    const got = copies.get(marker) ?? [];
    if (got.length <= 1) continue;
    c.idempotency += 1;
    example('idempotency', { marker, room: repeats[0]!.room, copies: got.length, ids: got.map((g) => g.id), answers: repeats.map((r) => r.answer) });
  }
}


/** The sockets of each room that recorded a digest, decoded one room at a time (bounded memory). */
function socketsByRoom(history: History): Map<string, SocketSpan[]> {
  const out = new Map<string, SocketSpan[]>();
  for (const sp of history.sockets.values()) {
    if (!sp.digest || sp.openedMs <= 0) continue;
    let l = out.get(sp.room);
    if (!l) out.set(sp.room, (l = []));
    l.push(sp);
  }
  return out;
}

interface Judgeable {
  marker: string;
  room: string;
  sendMs: number;
  untilMs: number;
  /** The sender's own socket keys (ws part: the stream key; hot room: `:pub`). */
  own: string;
  ownPub: string;
  key: string;
  seq: number;
}

/** The stored messages of one room that can be judged, sorted by send time. */
function judgeable(history: History, entries: Array<[string, StoredMessage[]]>, spanMs: number): Judgeable[] {
  const out: Judgeable[] = [];
  for (const [marker, got] of entries) {
    const p = parseBody(got[0]!.body);
    if (!p) continue;
    const s = history.sends.get(marker);
    const sendMs = p.sendMs ?? s?.sendMs;
    if (sendMs === undefined) continue;
    const own = senderKey(p.marker);
    out.push({ marker, room: got[0]!.room, sendMs, untilMs: (s ? outcomeOf(s).resolvedMs : sendMs) + spanMs, own, ownPub: `${own}:pub`, key: streamKey(p.marker), seq: p.marker.seq });
  }
  return out.sort((a, b) => a.sendMs - b.sendMs);
}

/** Index of the first message sent at or after `ms`. */
function firstFrom(msgs: readonly Judgeable[], ms: number): number {
  let lo = 0;
  let hi = msgs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (msgs[mid]!.sendMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function classifyDelivery(history: History, copies: Map<string, StoredMessage[]>, spanMs: number, c: Classification, example: AddExample): void {
  const byRoom = new Map<string, Array<[string, StoredMessage[]]>>();
  for (const e of copies) {
    const room = e[1][0]!.room;
    (byRoom.get(room) ?? byRoom.set(room, []).get(room)!).push(e);
  }
  for (const [room, spans] of socketsByRoom(history)) {
    const msgs = judgeable(history, byRoom.get(room) ?? [], spanMs);
    for (const span of spans) {
      const digest = decodeDigest(span.digest!);
      if (!digest) continue;
      c.socketsJudged += 1;
      socketAnomalies({ span, digest }, room, copies, c, example);
      judgeSocket(span, digest, msgs, c, example);
    }
  }
}

/** Every message of the room sent while this socket was open (and until its span ended before the socket's end). */
function judgeSocket(span: SocketSpan, digest: DecodedDigest, msgs: readonly Judgeable[], c: Classification, example: AddExample): void {
  for (let i = firstFrom(msgs, span.openedMs); i < msgs.length && msgs[i]!.sendMs <= span.closedMs; i++) {
    const m = msgs[i]!;
    // the sender's own socket: its echo is the acknowledgement, judged as such
    if (m.untilMs > span.closedMs || span.socket === m.own || span.socket === m.ownPub) continue;
    const heard = digestHas(digest, m.key, m.seq);
    if (span.gaps.length && span.gaps.some((g) => g.downMs <= m.untilMs && g.upMs >= m.sendMs)) {
      if (!heard) c.missedWhileReconnecting += 1;
      continue;
    }
    c.deliveriesJudged += 1;
    if (heard) continue;
    c.undelivered += 1;
    example('undelivered', { marker: m.marker, room: m.room, receiver: span.socket, sentAt: iso(m.sendMs), socketOpen: [iso(span.openedMs), iso(span.closedMs)] });
  }
}

/** Duplicate and reordered receipts of one socket (its digest's counts; listed ones become examples). */
function socketAnomalies({ span, digest }: { span: SocketSpan; digest: DecodedDigest }, room: string, copies: Map<string, StoredMessage[]>, c: Classification, example: AddExample): void {
  const run = span.socket.split(':')[0]!;
  const markerOf = (entry: string): string => {
    const [key, seq] = entry.split('#') as [string, string];
    return `k6m:${run}:${key}:${seq.split('<')[0]}`;
  };
  c.digestOverflow += digest.overflow;
  let expectedTwice = 0;
  for (const e of digest.duplicateList) {
    const marker = markerOf(e);
    if ((copies.get(marker)?.length ?? 0) > 1) expectedTwice += 1;
    else example('duplicateDeliveries', { marker, room, receiver: span.socket });
  }
  c.duplicateDeliveries += digest.duplicates - expectedTwice;
  c.reordered += digest.reordered;
  for (const e of digest.reorderedList) {
    const after = Number(e.split('<')[1]);
    const marker = markerOf(e);
    example('reordered', { marker, room, receiver: span.socket, afterSeq: after });
  }
}
