/**
 * The message history of a run, read from one or more k6 raw output files (`--out json`, gzip or not): the
 * sample metadata lib/history.ts attaches (see lib/README.md, "Message history"). Several files merge into one
 * history (a split load run: one file per k6 process; markers carry the instance, so they stay apart).
 *
 * Bounded: receipts beyond `maxReceipts` are dropped and counted (`dropped.receipts`), reported in the output.
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

export interface Receipt {
  marker: string;
  atMs: number;
}

export interface SocketSpan {
  socket: string;
  room: string;
  /** 0 = never opened. */
  openedMs: number;
  closedMs: number;
  /** Disconnections inside [openedMs, closedMs] (a socket that reconnected; a trailing one ends at closedMs). */
  gaps: Array<{ downMs: number; upMs: number }>;
}

export interface History {
  sends: Map<string, Send>;
  /** Receiver socket key → receipts in the order recorded. */
  receipts: Map<string, Receipt[]>;
  sockets: Map<string, SocketSpan>;
  /** What was not kept to bound memory. */
  dropped: { receipts: number };
  /** Number of raw lines with history metadata read. */
  records: number;
}

export function emptyHistory(): History {
  return { sends: new Map(), receipts: new Map(), sockets: new Map(), dropped: { receipts: 0 }, records: 0 };
}

type MetaValue = string | number | boolean;
const num = (v: MetaValue | undefined): number => (v === undefined ? 0 : Number(v) || 0);
const str = (v: MetaValue | undefined): string => (v === undefined ? '' : String(v));

/** Adds one sample's history metadata to `h` (pure; exported for tests that build histories by hand). */
export function addRecord(h: History, metric: string, atMs: number, meta: Record<string, MetaValue>): void {
  if (metric === 'message_store_success' || metric === 'ws_ack_via_duplicate') {
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
  } else if (metric === 'ws_fanout_latency') {
    const marker = str(meta['marker']);
    const receiver = str(meta['receiver']);
    if (!marker || !receiver) return;
    h.records += 1;
    let list = h.receipts.get(receiver);
    if (!list) h.receipts.set(receiver, (list = []));
    list.push({ marker, atMs });
  } else if (metric === 'ws_session_ok') {
    const socket = str(meta['socket']);
    if (!socket) return;
    h.records += 1;
    h.sockets.set(socket, { socket, room: str(meta['room']), openedMs: num(meta['opened_ms']), closedMs: num(meta['closed_ms']), gaps: parseGaps(str(meta['gaps'])) });
  }
}

const METRICS = ['message_store_success', 'ws_ack_via_duplicate', 'ws_fanout_latency', 'ws_session_ok'];

/** Reads the history of every raw file into one (k6 raw lines with `data.metadata`). */
export async function readHistory(rawFiles: readonly string[], opts: { maxReceipts?: number } = {}): Promise<History> {
  const h = emptyHistory();
  const max = opts.maxReceipts ?? 2_000_000;
  let receiptCount = 0;
  for (const path of rawFiles) {
    const lines = createInterface({ input: await openRaw(path), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.includes('"metadata"')) continue;
      const m = /^\{"metric":"([a-z_]+)"/.exec(line);
      if (m && !METRICS.includes(m[1]!)) continue;
      const obj = JSON.parse(line) as { type?: string; metric?: string; data?: { time: string; metadata?: Record<string, MetaValue> } };
      if (obj.type !== 'Point' || !obj.metric || !obj.data?.metadata) continue;
      if (obj.metric === 'ws_fanout_latency') {
        if (receiptCount >= max) {
          h.dropped.receipts += 1;
          h.records += 1;
          continue;
        }
        receiptCount += 1;
      }
      addRecord(h, obj.metric, Date.parse(obj.data.time), obj.data.metadata);
    }
  }
  return h;
}
