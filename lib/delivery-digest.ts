/**
 * What one room socket received, as a compact digest: per sender stream, the seqs received as ranges
 * ("0-14,16-19"), plus duplicate and out-of-order receipts counted (with a few listed). PURE: k6 records it per
 * socket and sends it once, as metadata of the socket's ws_session_ok sample (lib/ws.ts); the integrity check
 * decodes it in Node and judges every (stored message × socket of its room) pair against it.
 *
 * Cost: a sender stream's seqs grow by one per message and arrive mostly in order, so a stream is usually one
 * range, kept as one number: ~20 bytes per stream heard, whatever the number of messages; recording a receipt is
 * a map lookup and an update (no sample per receipt, no allocation unless a stream has a gap).
 *
 * Encoded: `1|<key>=<ranges>;<key>=<ranges>...|<receipts>|<duplicates>:<key>#<seq>,...|<reordered>:<key>#<seq>,...|<overflow>`
 * with `key` the stream key (marker without run id and seq: `inst:src:vu:iter:sock`).
 */
import type { Marker } from './marker.js';

export type ReceiptKind = 'new' | 'duplicate' | 'reordered';

/** Listed examples of duplicate / reordered receipts per socket (the counts are always complete). */
export const DIGEST_LISTED = 50;
/** Sender streams one socket keeps (more are counted in `overflow`, not judged). */
export const DIGEST_MAX_STREAMS = 20_000;

/** The stream key of a marker inside one run: `inst:src:vu:iter:sock`. */
export function streamKey(m: Pick<Marker, 'inst' | 'src' | 'vu' | 'iter' | 'sock'>): string {
  return `${m.inst}:${m.src}:${m.vu}:${m.iter}:${m.sock}`;
}

/** Sorted, disjoint, non-adjacent ranges as a flat array [lo0, hi0, lo1, hi1, ...]. */
function rangeIndex(r: number[], seq: number): number {
  // index of the first range whose hi >= seq (in range units)
  let lo = 0;
  let hi = r.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r[2 * mid + 1]! < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function rangesHas(r: readonly number[], seq: number): boolean {
  const i = rangeIndex(r as number[], seq);
  return i < r.length / 2 && r[2 * i]! <= seq;
}

/** Adds seq; false when it was there already. */
function rangesAdd(r: number[], seq: number): boolean {
  const n = r.length;
  if (n === 0 || seq > r[n - 1]! + 1) {
    r.push(seq, seq);
    return true;
  }
  if (seq === r[n - 1]! + 1) {
    r[n - 1] = seq;
    return true;
  }
  const i = rangeIndex(r, seq);
  if (r[2 * i]! <= seq) return false; // inside range i
  const joinsPrev = i > 0 && r[2 * i - 1]! + 1 === seq;
  const joinsNext = r[2 * i]! - 1 === seq;
  if (joinsPrev && joinsNext) r.splice(2 * i - 1, 2);
  else if (joinsPrev) r[2 * i - 1] = seq;
  else if (joinsNext) r[2 * i] = seq;
  else r.splice(2 * i, 0, seq, seq);
  return true;
}

/**
 * A stream whose seqs so far are one range [lo, hi] is kept as one number, hi * SPAN + lo (no array: the common
 * case, and what keeps a socket's digest small in k6's runtime); any other as its ranges array.
 */
const SPAN = 2 ** 21;
type Stream = number | number[];

export class DeliveryDigest {
  private readonly streams = new Map<string, Stream>();
  receipts = 0;
  duplicates = 0;
  reordered = 0;
  overflow = 0;
  readonly duplicateList: string[] = [];
  readonly reorderedList: string[] = [];

  constructor(private readonly maxStreams = DIGEST_MAX_STREAMS) {}

  /** One receipt of a marked message: new, a second receipt of the same message, or below a seq already heard from that sender. */
  record(key: string, seq: number): ReceiptKind {
    const v = this.streams.get(key);
    if (v === undefined) {
      if (this.streams.size >= this.maxStreams) {
        this.overflow += 1;
        return 'new';
      }
      // a copy of the key: a substring may share the whole frame's text, which would stay in memory with it
      this.streams.set(`${key}!`.slice(0, -1), seq < SPAN ? seq * SPAN + seq : [seq, seq]);
      this.receipts += 1;
      return 'new';
    }
    this.receipts += 1;
    let r: number[];
    if (typeof v === 'number') {
      const lo = v % SPAN;
      const hi = (v - lo) / SPAN;
      if (seq === hi + 1 && seq < SPAN) {
        this.streams.set(key, v + SPAN);
        return 'new';
      }
      r = [lo, hi];
      this.streams.set(key, r);
    } else {
      r = v;
    }
    // the highest seq heard from the stream so far is its last range's end
    const max = r[r.length - 1]!;
    if (!rangesAdd(r, seq)) {
      this.duplicates += 1;
      if (this.duplicateList.length < DIGEST_LISTED) this.duplicateList.push(`${key}#${seq}`);
      return 'duplicate';
    }
    if (seq < max) {
      this.reordered += 1;
      if (this.reorderedList.length < DIGEST_LISTED) this.reorderedList.push(`${key}#${seq}<${max}`);
      return 'reordered';
    }
    return 'new';
  }

  encode(): string {
    const streams: string[] = [];
    for (const [key, v] of this.streams) {
      const r = typeof v === 'number' ? [v % SPAN, (v - (v % SPAN)) / SPAN] : v;
      const parts: string[] = [];
      for (let i = 0; i < r.length; i += 2) parts.push(r[i] === r[i + 1] ? String(r[i]) : `${r[i]}-${r[i + 1]}`);
      streams.push(`${key}=${parts.join(',')}`);
    }
    return `1|${streams.join(';')}|${this.receipts}|${this.duplicates}:${this.duplicateList.join(',')}|${this.reordered}:${this.reorderedList.join(',')}|${this.overflow}`;
  }
}

export interface DecodedDigest {
  streams: Map<string, number[]>;
  receipts: number;
  duplicates: number;
  /** `key#seq` of listed duplicate receipts. */
  duplicateList: string[];
  reordered: number;
  /** `key#seq<maxSeqBefore` of listed reordered receipts. */
  reorderedList: string[];
  overflow: number;
}

function counted(part: string | undefined): { n: number; list: string[] } {
  const [n, list] = (part ?? '0:').split(/:(.*)/s) as [string, string | undefined];
  return { n: Number(n) || 0, list: list ? list.split(',').filter(Boolean) : [] };
}

/** Decodes DeliveryDigest.encode(); undefined for anything else. */
export function decodeDigest(s: string): DecodedDigest | undefined {
  const f = s.split('|');
  if (f[0] !== '1' || f.length !== 6) return undefined;
  const streams = new Map<string, number[]>();
  for (const item of f[1] ? f[1].split(';') : []) {
    const eq = item.lastIndexOf('=');
    if (eq <= 0) return undefined;
    const r: number[] = [];
    for (const p of item.slice(eq + 1).split(',')) {
      const [a, b] = p.split('-');
      const lo = Number(a);
      const hi = b === undefined ? lo : Number(b);
      if (!Number.isInteger(lo) || !Number.isInteger(hi)) return undefined;
      r.push(lo, hi);
    }
    streams.set(item.slice(0, eq), r);
  }
  const d = counted(f[3]);
  const o = counted(f[4]);
  return { streams, receipts: Number(f[2]) || 0, duplicates: d.n, duplicateList: d.list, reordered: o.n, reorderedList: o.list, overflow: Number(f[5]) || 0 };
}

export function digestHas(d: DecodedDigest, key: string, seq: number): boolean {
  const r = d.streams.get(key);
  return r !== undefined && rangesHas(r, seq);
}
