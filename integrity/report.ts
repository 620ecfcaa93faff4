/**
 * integrity.json, its thresholds and the printed table, from a classification (pure).
 */
import type { ThresholdResult } from '../runner/summary.js';
import type { IntegrityTargets } from '../lib/profiles.js';
import { formatRate, trialsNeeded, upperBound } from './bound.js';
import { COUNT_KEYS, type Classification, type Counts } from './classify.js';
import type { Completeness, RoomCompleteness } from './completeness.js';
import type { History, ReadAfterWrite } from './history.js';
import { effectiveTargets, RATE_KEYS, type IntegrityOptions, type RateKey } from './options.js';

/** How much a count can hide: events of judged, the 95 % upper bound on the rate, and the target when one is set. */
export interface Bound {
  events: number;
  judged: number;
  /** 95 % upper bound on the rate (exact, one-sided); 1 when nothing was judged. */
  upper95: number;
  target?: number;
  /** Judged items needed (with the same events) for the bound to reach the target. */
  needed?: number;
}

export interface IntegrityReport extends Counts {
  version: 2;
  runId?: string;
  verdict: 'pass' | 'fail';
  counts: Counts;
  details: Omit<Classification, keyof Counts | 'examples'> & {
    rooms: number;
    storedMarked: number;
    historyRecords: number;
    rawFiles: number;
    pageSize: number;
    /** Room reads after the first pass (missing messages: small pages, re-reads until the settle time). */
    extraReads: number;
    readAfterWrite: ReadAfterWrite & { rate: number | null };
  };
  bounds: Record<RateKey, Bound>;
  /** Rooms that missed acknowledged messages on the first read, and the unverified ones. */
  rooms: RoomCompleteness[];
  limits: {
    lost: 0; duplicates: 0; unverified: 0; duplicateDeliveries: 0; idempotency: 0;
    undelivered: number; reordered: number; late: number | null; spanMs: number; settleMs: number;
    targets: Partial<Record<RateKey, number>>;
  };
  notes: string[];
  examples: Classification['examples'];
  thresholds: ThresholdResult[];
}

export interface ReportContext {
  options: IntegrityOptions;
  profileTargets?: IntegrityTargets | undefined;
  rooms: number;
  rawFiles: number;
  pageSize: number;
  runId?: string;
}

function bounds(c: Classification, targets: Partial<Record<RateKey, number>>): Record<RateKey, Bound> {
  const of = (events: number, judged: number, target: number | undefined): Bound => {
    const b: Bound = { events, judged, upper95: upperBound(Math.min(events, judged), judged) };
    if (target !== undefined) {
      b.target = target;
      if (b.upper95 > target) b.needed = trialsNeeded(Math.min(events, judged), target);
    }
    return b;
  };
  return {
    lost: of(c.lost, c.ackedJudged, targets.lost),
    duplicates: of(c.duplicates, c.storedJudged, targets.duplicates),
    undelivered: of(c.undelivered, c.deliveriesJudged, targets.undelivered),
  };
}

export function buildReport(c: Classification, back: Completeness, history: History, x: ReportContext): IntegrityReport {
  const t = effectiveTargets(x.profileTargets, x.options);
  const unverified = back.rooms.filter((r) => r.status === 'unverified');
  const cc: Classification = { ...c, unverified: unverified.length, examples: { ...c.examples, unverified: unverified.slice(0, 20).map((r) => ({ ...r })) } };
  const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, cc[k]])) as Counts;
  const b = bounds(cc, t.rates);
  const wsSends = [...history.sends.keys()].some((m) => /^k6m:[^:]+:[^:]+:[wh]:/.test(m));
  const limits: IntegrityReport['limits'] = {
    lost: 0, duplicates: 0, unverified: 0, duplicateDeliveries: 0, idempotency: 0,
    undelivered: x.options.undeliveredLimit, reordered: t.reorderedMax, late: x.options.lateLimit ?? null,
    spanMs: x.options.spanMs, settleMs: x.options.settleMs, targets: t.rates,
  };
  const thresholds = integrityThresholds(cc, b, limits, { rooms: x.rooms, idempotency: wsSends });
  const { examples: _e, ...rest } = cc;
  const details = Object.fromEntries(Object.entries(rest).filter(([k]) => !(COUNT_KEYS as readonly string[]).includes(k))) as Omit<Classification, keyof Counts | 'examples'>;
  const raw = history.readAfterWrite;
  return {
    version: 2,
    ...(x.runId !== undefined ? { runId: x.runId } : {}),
    verdict: thresholds.every((th) => th.result === 'pass') ? 'pass' : 'fail',
    ...counts,
    counts,
    details: {
      ...details,
      rooms: x.rooms,
      storedMarked: back.stored.filter((m) => m.body.startsWith('k6m:')).length,
      historyRecords: history.records,
      rawFiles: x.rawFiles,
      pageSize: x.pageSize,
      extraReads: back.extraReads,
      readAfterWrite: { ...raw, rate: raw.judged ? raw.missed / raw.judged : null },
    },
    bounds: b,
    rooms: back.rooms,
    limits,
    notes: notes(cc, x, b),
    examples: cc.examples,
    thresholds,
  };
}

function notes(c: Classification, x: ReportContext, b: Record<RateKey, Bound>): string[] {
  const out = [
    'per message (marker): ok = acknowledged and stored once; lost = acknowledged, not stored, its room read completely; late = acknowledged, visible only on a re-read; duplicates = stored more than once (any outcome); indeterminate = failed or unknown outcome (or no recorded send) yet stored once, not an error',
    `rooms are read at ${x.pageSize} per page following next_cursor; a room missing acknowledged messages is read again with small pages and re-read until ${x.options.settleMs} ms after the first read; unverified = a room whose default-size pages ended short without a cursor (its missing messages are not judged)`,
    `undelivered counts (stored message × socket of its room, the sender's own excepted, connected from before its send until ${x.options.spanMs} ms after its outcome) pairs missing from the socket's delivery digest; duplicateDeliveries = a socket got one message twice; reordered = a socket got a lower seq of a sender after a higher one`,
    'idempotency = a message whose client_msg_id the suite repeated on purpose and that is stored more than once',
    `95 % upper bounds: lost below ${formatRate(b.lost.upper95)} (${b.lost.events} of ${b.lost.judged}), duplicates below ${formatRate(b.duplicates.upper95)} (${b.duplicates.events} of ${b.duplicates.judged}), undelivered below ${formatRate(b.undelivered.upper95)} (${b.undelivered.events} of ${b.undelivered.judged} pairs)`,
    'a socket that reconnected is judged only over the spans it was connected: a message sent while it was disconnected and never received counts in details.missedWhileReconnecting, not in undelivered',
  ];
  if (c.digestOverflow > 0) out.push(`${c.digestOverflow} receipts were not recorded (a socket heard more sender streams than its digest keeps): undelivered may be over-counted`);
  return out;
}

function threshold(id: string, metric: string, aggregation: string, op: '==' | '<=', limit: number, observed: number, samples: number, meaning: string): ThresholdResult {
  const held = op === '==' ? observed === limit : observed <= limit;
  return {
    name: `${metric}: ${aggregation}${op}${limit}`,
    metric,
    baseMetric: metric,
    tags: {},
    expression: `${aggregation}${op}${limit}`,
    aggregation,
    operator: op,
    limit,
    observed: samples === 0 ? null : observed,
    unit: '',
    samples,
    k6Ok: true,
    result: samples === 0 ? 'no-samples' : held ? 'pass' : 'fail',
    id,
    meaning,
  };
}

/** The integrity thresholds in the runner's shape (`samples` = what was judged; nothing judged = no-samples). */
export function integrityThresholds(c: Counts & Pick<Classification, 'ackedJudged' | 'storedJudged' | 'deliveriesJudged' | 'repeatsJudged'>, b: Record<RateKey, Bound>, l: IntegrityReport['limits'], x: { rooms: number; idempotency: boolean }): ThresholdResult[] {
  const count = (key: keyof Counts, op: '==' | '<=', limit: number, samples: number, meaning: string) => threshold(`integrity.${key}`, `integrity_${key}`, 'count', op, limit, c[key], samples, meaning);
  const out = [
    count('lost', '==', 0, c.ackedJudged, 'acknowledged messages missing from their room, read completely (integrity check)'),
    count('duplicates', '==', 0, c.storedJudged, 'messages stored more than once (integrity check)'),
    count('unverified', '==', 0, x.rooms, 'rooms whose read-back ended short without next_cursor: their missing messages could not be judged (integrity check)'),
    count('undelivered', '<=', l.undelivered, c.deliveriesJudged, 'stored messages a socket of the room connected at the time never got (integrity check)'),
    count('duplicateDeliveries', '==', 0, c.deliveriesJudged, 'messages a socket received twice (integrity check)'),
    count('reordered', '<=', l.reordered, c.deliveriesJudged, 'receipts of a sender\'s message after a later one of the same sender (integrity check)'),
  ];
  if (x.idempotency) out.push(count('idempotency', '==', 0, c.repeatsJudged, 'messages stored twice although their client_msg_id was repeated (integrity check)'));
  if (l.late !== null) out.push(count('late', '<=', l.late, c.ackedJudged, 'acknowledged messages visible in the list only on a re-read (integrity check)'));
  for (const k of RATE_KEYS) {
    const bd = b[k];
    if (bd.target === undefined) continue;
    const needed = bd.needed === undefined ? '' : Number.isFinite(bd.needed) ? `; ${bd.needed.toLocaleString('en-US')} would be needed` : '; no number would do';
    const t = threshold(`integrity.${k}_evidence`, `integrity_${k}_bound95`, 'rate', '<=', bd.target, bd.upper95, bd.judged,
      `evidence: ${bd.events} ${k} of ${bd.judged} judged bounds the rate below ${formatRate(bd.upper95)} (95 %)${bd.upper95 > bd.target ? `, above the target ${formatRate(bd.target)}: insufficient evidence${needed}` : `, within the target ${formatRate(bd.target)}`}`);
    out.push(t);
  }
  return out;
}

/** The short printed table. */
export function formatIntegrity(r: IntegrityReport): string {
  const lim: Partial<Record<keyof Counts, string>> = {
    lost: '0', duplicates: '0', unverified: '0', duplicateDeliveries: '0', idempotency: '0',
    undelivered: String(r.limits.undelivered), reordered: String(r.limits.reordered), ...(r.limits.late !== null ? { late: String(r.limits.late) } : {}),
  };
  const bound = (k: RateKey) => {
    const b = r.bounds[k];
    return `  (of ${b.judged}; 95 % bound ${formatRate(b.upper95)}${b.target !== undefined ? `, target ${formatRate(b.target)}` : ''})`;
  };
  const rows = COUNT_KEYS.map((k) => {
    const extra = k === 'lost' || k === 'duplicates' || k === 'undelivered' ? bound(k) : k === 'late' && r.details.lateLagMs ? `  (lag up to ${r.details.lateLagMs.max} ms)` : '';
    return [k, String(r.counts[k]), `${lim[k] !== undefined ? `  (limit ${lim[k]})` : ''}${extra}`] as const;
  });
  const w = Math.max(...rows.map(([k]) => k.length));
  const d = r.details;
  const raw = d.readAfterWrite.judged ? `, read-after-write misses ${d.readAfterWrite.missed} of ${d.readAfterWrite.judged}` : '';
  const lines = [`integrity: ${r.verdict.toUpperCase()} (${d.messages} messages in ${d.rooms} rooms, ${d.deliveriesJudged} deliveries to ${d.socketsJudged} sockets judged, ${d.repeatsJudged} client_msg_id repeats${raw})`];
  for (const [k, v, x] of rows) lines.push(`  ${k.padEnd(w)}  ${v.padStart(6)}${x}`);
  for (const k of ['lost', 'duplicates', 'undelivered', 'reordered', 'duplicateDeliveries', 'idempotency', 'late'] as const) {
    const ex = r.examples[k][0];
    if (ex) lines.push(`  e.g. ${k}: ${ex.marker}${'receiver' in ex ? ` → ${String(ex.receiver)}` : ''}${'copies' in ex ? ` ×${String(ex.copies)}` : ''}${'lagMs' in ex ? ` after ${String(ex.lagMs)} ms` : ''}`);
  }
  for (const room of r.rooms.filter((x) => x.status === 'unverified').slice(0, 5)) lines.push(`  unverified room ${room.room}: expected ${room.expected}, read ${room.readDefault} at ${room.pageSize} per page (${room.readAny} by any read): ${room.reason}`);
  for (const th of r.thresholds) if (th.id?.endsWith('_evidence') && th.result !== 'pass') lines.push(`  ${th.id}: ${th.meaning}`);
  return lines.join('\n');
}
