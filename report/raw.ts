/**
 * Streaming reader of k6's JSON output (`--out json=<file>`, plain or gzipped) into per-second buckets.
 *
 * The file is read line by line, never whole, so hour-long stage runs work. Latencies go into log-scale
 * histograms (2 % relative resolution) per second and per endpoint group, so memory grows with the run's
 * length in seconds, not with its request count. Percentiles read from those histograms are within about 1 %
 * of the exact value.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Relative width of one histogram bin. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

/** A sparse log-scale histogram of non-negative values (ms). Bin 0 holds values below 0.01 ms. */
export class Histogram {
  readonly bins = new Map<number, number>();
  count = 0;
  max = 0;

  add(v: number): void {
    if (!Number.isFinite(v) || v < 0) return;
    const b = v < 0.01 ? 0 : 1 + Math.floor(Math.log(v / 0.01) / LOG_GROWTH);
    this.bins.set(b, (this.bins.get(b) ?? 0) + 1);
    this.count++;
    if (v > this.max) this.max = v;
  }

  merge(o: Histogram): void {
    for (const [b, c] of o.bins) this.bins.set(b, (this.bins.get(b) ?? 0) + c);
    this.count += o.count;
    if (o.max > this.max) this.max = o.max;
  }

  /** The q-quantile (0..1), taken as the geometric middle of the bin holding it (capped at the max seen). */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    const keys = [...this.bins.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const b of keys) {
      seen += this.bins.get(b) ?? 0;
      if (seen >= rank) {
        if (b === 0) return 0;
        const lo = 0.01 * GROWTH ** (b - 1);
        return Math.min(lo * Math.sqrt(GROWTH), this.max);
      }
    }
    return this.max;
  }
}

/** Pass/fail counts (for k6 rate metrics and http_req_failed). */
export interface RateCount {
  n: number;
  /** Sum of the values (k6 rate points are 0 or 1). */
  sum: number;
}

function addRate(map: Map<string, RateCount>, key: string, v: number): void {
  let r = map.get(key);
  if (!r) map.set(key, (r = { n: 0, sum: 0 }));
  r.n++;
  r.sum += v !== 0 ? 1 : 0;
}

function addHist(map: Map<string, Histogram>, key: string, v: number): void {
  let h = map.get(key);
  if (!h) map.set(key, (h = new Histogram()));
  h.add(v);
}

/** Everything measured in one second. Keys of the maps are endpoint groups (or metric names for `trends`). */
export interface SecondBucket {
  reqs: Map<string, number>;
  failed: Map<string, RateCount>;
  duration: Map<string, Histogram>;
  /** Rate metrics other than http_req_failed, by metric name (message_store_success, ws_fanout_delivery, checks...). */
  rates: Map<string, RateCount>;
  /** Other trend metrics, by metric name (ws_delivery_latency, message_store_latency...). */
  trends: Map<string, Histogram>;
  /** Other counters, by metric name (ws_error_frames...): the sum of their values in the second. */
  counters: Map<string, number>;
  vus: number | null;
}

/** Totals over the whole run, and per phase. */
export interface Totals {
  reqs: number;
  failed: RateCount;
  durationByGroup: Map<string, Histogram>;
  failedByGroup: Map<string, RateCount>;
  duration: Histogram;
  rates: Map<string, RateCount>;
  trends: Map<string, Histogram>;
  counters: Map<string, number>;
}

function newTotals(): Totals {
  return {
    reqs: 0,
    failed: { n: 0, sum: 0 },
    durationByGroup: new Map(),
    failedByGroup: new Map(),
    duration: new Histogram(),
    rates: new Map(),
    trends: new Map(),
    counters: new Map(),
  };
}

export interface RawAggregate {
  /** Unix seconds of the first and last bucket. */
  start: number | null;
  end: number | null;
  seconds: Map<number, SecondBucket>;
  total: Totals;
  byPhase: Map<string, Totals>;
  /** Metric declarations seen (name → k6 type). */
  metricTypes: Map<string, string>;
  lines: number;
  badLines: number;
  /** The file ended mid-stream (a gzip cut short by a killed run): what was read is kept. */
  truncated: boolean;
}

/** Endpoint group of a request: the `endpoint` tag the scenarios set, else `untagged`. */
export function groupOf(tags: Record<string, unknown> | undefined): string {
  const e = tags?.['endpoint'];
  return typeof e === 'string' && e !== '' ? e : 'untagged';
}

const timeCache = new Map<string, number>();
/** Unix second of a k6 timestamp such as 2026-11-23T14:13:41.402923957Z (fraction dropped). */
export function unixSecond(time: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(.*)$/.exec(time);
  if (!m) return Math.floor(Date.parse(time) / 1000);
  const key = `${m[1]}${m[2]}`;
  let s = timeCache.get(key);
  if (s === undefined) {
    s = Math.floor(Date.parse(key) / 1000);
    if (timeCache.size > 100_000) timeCache.clear();
    timeCache.set(key, s);
  }
  return s;
}

/**
 * k6's built-in metrics the report does not chart; their points are skipped before JSON parsing. Every other
 * metric is read: the HTTP ones, `vus`, `checks`, and the scenarios' own trends, rates and counters.
 */
export const SKIPPED_BUILTINS = new Set([
  'http_req_blocked',
  'http_req_connecting',
  'http_req_tls_handshaking',
  'http_req_sending',
  'http_req_waiting',
  'http_req_receiving',
  'iteration_duration',
  'iterations',
  'data_sent',
  'data_received',
  'vus_max',
  'group_duration',
  'ws_connecting',
  'ws_session_duration',
  'ws_sessions',
  'ws_msgs_sent',
  'ws_msgs_received',
  'ws_ping',
]);

async function openMaybeGzip(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(2);
  await fh.read(head, 0, 2, 0);
  await fh.close();
  const s = createReadStream(path, { highWaterMark: 1 << 16 });
  if (head[0] === 0x1f && head[1] === 0x8b) return s.pipe(createGunzip({ chunkSize: 1 << 16 }));
  return s;
}

function metricNameOf(line: string): string | null {
  // Point lines start with {"metric":"<name>", Metric lines with {"type":"Metric"... "metric":"<name>"}.
  const i = line.indexOf('"metric":"');
  if (i < 0) return null;
  const j = line.indexOf('"', i + 10);
  return j < 0 ? null : line.slice(i + 10, j);
}

function bucketAt(agg: RawAggregate, sec: number): SecondBucket {
  let b = agg.seconds.get(sec);
  if (!b) {
    b = { reqs: new Map(), failed: new Map(), duration: new Map(), rates: new Map(), trends: new Map(), counters: new Map(), vus: null };
    agg.seconds.set(sec, b);
    if (agg.start === null || sec < agg.start) agg.start = sec;
    if (agg.end === null || sec > agg.end) agg.end = sec;
  }
  return b;
}

function phaseTotals(agg: RawAggregate, phase: string): Totals {
  let t = agg.byPhase.get(phase);
  if (!t) agg.byPhase.set(phase, (t = newTotals()));
  return t;
}

/** Reads a k6 JSON output file (plain or gzipped) into per-second buckets and totals. */
export async function readRaw(path: string): Promise<RawAggregate> {
  const agg: RawAggregate = {
    start: null,
    end: null,
    seconds: new Map(),
    total: newTotals(),
    byPhase: new Map(),
    metricTypes: new Map(),
    lines: 0,
    badLines: 0,
    truncated: false,
  };
  // A truncated gzip (a run killed mid-write) ends the lines with a zlib error: keep what was read.
  try {
    await forEachLine(await openMaybeGzip(path), (line) => readLine(line, agg));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'Z_BUF_ERROR' && code !== 'Z_DATA_ERROR') throw err;
    agg.truncated = true;
  }
  return agg;
}

/** Calls `onLine` for every line of a stream; split by hand, about three times faster than node:readline. */
async function forEachLine(input: Readable, onLine: (line: string) => void): Promise<void> {
  input.setEncoding('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }
  if (rest !== '') onLine(rest);
}

function readLine(line: string, agg: RawAggregate): void {
  if (line === '') return;
  agg.lines++;
  const name = metricNameOf(line);
  if (name === null) {
    agg.badLines++;
    return;
  }
  const isMetricDecl = line.startsWith('{"type":"Metric"');
  if (!isMetricDecl && SKIPPED_BUILTINS.has(name)) return;
  let obj: { type?: string; data?: { time?: string; value?: number; tags?: Record<string, unknown> | null; type?: string } };
  try {
    obj = JSON.parse(line);
  } catch {
    agg.badLines++;
    return;
  }
  if (obj.type === 'Metric') {
    if (typeof obj.data?.type === 'string') agg.metricTypes.set(name, obj.data.type);
    return;
  }
  if (obj.type !== 'Point' || !obj.data || typeof obj.data.time !== 'string' || typeof obj.data.value !== 'number') {
    agg.badLines++;
    return;
  }
  const v = obj.data.value;
  const tags = obj.data.tags ?? undefined;
  const sec = unixSecond(obj.data.time);
  if (!Number.isFinite(sec)) {
    agg.badLines++;
    return;
  }
  const b = bucketAt(agg, sec);
  const phaseTag = tags?.['phase'];
  const pt = typeof phaseTag === 'string' && phaseTag !== '' ? phaseTotals(agg, phaseTag) : null;
  // setup() requests (phase:setup) have their own phase totals and stay out of the run's totals (the load's figures);
  // the bad-request storm's (traffic:storm, no phase) stay out of both (its answers: summary.json `storm`)
  const totals = [...(phaseTag === 'setup' || tags?.['traffic'] === 'storm' ? [] : [agg.total]), ...(pt ? [pt] : [])];
  const group = groupOf(tags);
  switch (name) {
    case 'http_reqs':
      b.reqs.set(group, (b.reqs.get(group) ?? 0) + v);
      for (const t of totals) t.reqs += v;
      break;
    case 'http_req_failed':
      addRate(b.failed, group, v);
      for (const t of totals) {
        t.failed.n++;
        t.failed.sum += v !== 0 ? 1 : 0;
        addRate(t.failedByGroup, group, v);
      }
      break;
    case 'http_req_duration':
      addHist(b.duration, group, v);
      for (const t of totals) {
        t.duration.add(v);
        addHist(t.durationByGroup, group, v);
      }
      break;
    case 'vus':
      b.vus = v;
      break;
    default: {
      const type = agg.metricTypes.get(name);
      if (type === 'rate') {
        addRate(b.rates, name, v);
        for (const t of totals) addRate(t.rates, name, v);
      } else if (type === 'trend') {
        addHist(b.trends, name, v);
        for (const t of totals) addHist(t.trends, name, v);
      } else if (type === 'counter') {
        b.counters.set(name, (b.counters.get(name) ?? 0) + v);
        agg.total.counters.set(name, (agg.total.counters.get(name) ?? 0) + v);
      }
    }
  }
}
