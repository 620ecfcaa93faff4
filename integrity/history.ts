/**
 * The message history of a run, read from one or more k6 raw output files (`--out json`, gzip or not): the
 * sample metadata lib/history.ts attaches (see lib/README.md, "Message history"). Several files merge into one
 * history (a split load run: one file per k6 process; markers carry the instance, so they stay apart).
 *
 * Receipts are not samples: each socket's delivery digest (lib/delivery-digest.ts) rides once on its
 * ws_session_ok sample and stays a string until its room is judged.
 */
import { createInterface } from 'node:readline';
import { openRaw } from '../runner/raw.js';
import { parseBody } from '../lib/marker.js';
import { parseGaps } from '../lib/reconnect.js';

export type Outcome = 'acked' | 'failed' | 'unknown';

export interface Attempt {
  outcome: Outcome;
  detail: string;
  /** When the outcome became known (sample time, epoch ms). */
  atMs: number;
}

export interface Send {
  marker: string;
  room: string;
  sender: string;
  /** Send time from the marker's body (`t=`), when known; else the first attempt's time. */
  sendMs: number;
  attempts: Attempt[];
}

export interface SocketSpan {
  socket: string;
  room: string;
  /** 0 = never opened. */
  openedMs: number;
  closedMs: number;
  /** Disconnections inside [openedMs, closedMs] (a socket that reconnected; a trailing one ends at closedMs). */
  gaps: Array<{ downMs: number; upMs: number }>;
  /** The socket's delivery digest as sent (lib/delivery-digest.ts), decoded when its room is judged; absent = not recorded. */
  digest?: string;
}

/** One idempotency repeat (lib/idempotency.ts): a client_msg_id sent again after its acknowledgement. */
export interface Repeat {
  marker: string;
  room: string;
  answer: string;
  detail: string;
  atMs: number;
}

export interface ReadAfterWrite {
  judged: number;
  missed: number;
  examples: Array<{ marker: string; room: string; at: string }>;
}

export interface History {
  sends: Map<string, Send>;
  sockets: Map<string, SocketSpan>;
  /** Repeated markers → their repeats. */
  repeats: Map<string, Repeat[]>;
  readAfterWrite: ReadAfterWrite;
  /** Number of raw lines with history metadata read. */
  records: number;
}

export function emptyHistory(): History {
  return { sends: new Map(), sockets: new Map(), repeats: new Map(), readAfterWrite: { judged: 0, missed: 0, examples: [] }, records: 0 };
}

type MetaValue = string | number | boolean;
const num = (v: MetaValue | undefined): number => (v === undefined ? 0 : Number(v) || 0);
const str = (v: MetaValue | undefined): string => (v === undefined ? '' : String(v));

function addSend(h: History, atMs: number, meta: Record<string, MetaValue>): void {
  const marker = str(meta['marker']);
  if (!marker) return;
  h.records += 1;
  const outcome = (['acked', 'failed', 'unknown'].includes(str(meta['outcome'])) ? str(meta['outcome']) : 'unknown') as Outcome;
  let s = h.sends.get(marker);
  if (!s) {
    const sendMs = parseBody(marker)?.sendMs;
    s = { marker, room: str(meta['room']), sender: str(meta['sender']), sendMs: sendMs ?? atMs, attempts: [] };
    h.sends.set(marker, s);
  }
  s.attempts.push({ outcome, detail: str(meta['detail']), atMs });
  if (atMs < s.sendMs) s.sendMs = atMs;
}

/** Adds one sample's history metadata to `h` (pure; exported for tests that build histories by hand). `value`: the sample's value. */
export function addRecord(h: History, metric: string, atMs: number, meta: Record<string, MetaValue>, value = 1): void {
  if (metric === 'message_store_success' || metric === 'ws_ack_via_duplicate') {
    addSend(h, atMs, meta);
  } else if (metric === 'ws_session_ok') {
    const socket = str(meta['socket']);
    if (!socket) return;
    h.records += 1;
    const digest = str(meta['digest']);
    h.sockets.set(socket, { socket, room: str(meta['room']), openedMs: num(meta['opened_ms']), closedMs: num(meta['closed_ms']), gaps: parseGaps(str(meta['gaps'])), ...(digest ? { digest } : {}) });
  } else if (metric === 'ws_repeat_answers') {
    const marker = str(meta['marker']);
    if (!marker) return;
    h.records += 1;
    const list = h.repeats.get(marker) ?? [];
    list.push({ marker, room: str(meta['room']), answer: str(meta['answer']), detail: str(meta['detail']), atMs });
    h.repeats.set(marker, list);
  } else if (metric === 'read_after_write_miss') {
    const marker = str(meta['marker']);
    if (!marker) return;
    h.records += 1;
    const r = h.readAfterWrite;
    r.judged += 1;
    if (value > 0) {
      r.missed += 1;
      if (r.examples.length < 20) r.examples.push({ marker, room: str(meta['room']), at: new Date(atMs).toISOString() });
    }
  }
}

const METRICS = ['message_store_success', 'ws_ack_via_duplicate', 'ws_session_ok', 'ws_repeat_answers', 'read_after_write_miss'];

/** Reads the history of every raw file into one (k6 raw lines with `data.metadata`). */
export async function readHistory(rawFiles: readonly string[]): Promise<History> {
  const h = emptyHistory();
  for (const path of rawFiles) {
    const lines = createInterface({ input: await openRaw(path), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.includes('"metadata"')) continue;
      const m = /^\{"metric":"([a-z_]+)"/.exec(line);
      if (m && !METRICS.includes(m[1]!)) continue;
      const obj = JSON.parse(line) as { type?: string; metric?: string; data?: { time: string; value?: number; metadata?: Record<string, MetaValue> } };
      if (obj.type !== 'Point' || !obj.metric || !obj.data?.metadata) continue;
      addRecord(h, obj.metric, Date.parse(obj.data.time), obj.data.metadata, obj.data.value ?? 1);
    }
  }
  return h;
}
