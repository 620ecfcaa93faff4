/**
 * The message integrity check (issue 6, Jepsen style: the k6 scenarios are the generator, chaos the nemesis, this
 * the checker). After the load: the history from k6's raw output (one or several files, e.g. a split run's),
 * every room it used read back through the public API, the classification (classify.ts), `integrity.json`, the
 * thresholds `lost == 0`, `duplicates == 0`, `undelivered <= limit` as ThresholdResults (they join the verdict,
 * summary.json, the human summary and junit.xml through finishRun's `extraThresholds`), and a short table.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { writeJson } from '../runner/run-dir.js';
import type { ThresholdResult } from '../runner/summary.js';
import type { TargetFile } from '../runner/target-file.js';
import { classify, COUNT_KEYS, MAX_EXAMPLES, type Classification, type Counts } from './classify.js';
import { readHistory } from './history.js';
import { readRooms } from './readback.js';

export { classify, COUNT_KEYS, type Classification, type StoredMessage } from './classify.js';
export { addRecord, emptyHistory, readHistory, type History } from './history.js';

export const INTEGRITY_FILE = 'integrity.json';

export interface IntegrityOptions {
  /** `undelivered <= undeliveredLimit` (default 0). */
  undeliveredLimit: number;
  /** A subscriber must stay open this long after a message's outcome to be expected to get it (default 1000). */
  spanMs: number;
}

const LIMIT = z
  .string()
  .regex(/^\d+$/, 'a whole number ≥ 0')
  .transform(Number)
  .pipe(z.number().int().min(0).max(1_000_000_000));

/** INTEGRITY_UNDELIVERED_LIMIT (integer ≥ 0, default 0), INTEGRITY_SPAN_MS (integer ≥ 0, default 1000). Throws a one-line Error naming the setting. */
export function integrityOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): IntegrityOptions {
  const read = (name: string, def: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const r = LIMIT.safeParse(raw.trim());
    if (!r.success) throw new Error(`${name}: "${raw}" is not allowed (a whole number ≥ 0)`);
    return r.data;
  };
  return { undeliveredLimit: read('INTEGRITY_UNDELIVERED_LIMIT', 0), spanMs: read('INTEGRITY_SPAN_MS', 1000) };
}

export interface IntegrityInput extends Partial<IntegrityOptions> {
  /** k6 raw output files (`--out json`, .gz or not) of the run: one per k6 process. */
  rawFiles: readonly string[];
  target: TargetFile;
  /** Where to write integrity.json (omit to not write it). */
  runDir?: string;
  runId?: string;
  maxReceipts?: number;
}

/** The counts sit at the top level (issue 6's keys) and again under `counts`. */
export interface IntegrityReport extends Counts {
  version: 1;
  runId?: string;
  verdict: 'pass' | 'fail';
  counts: Counts;
  /** Other figures: messages judged, failed sends not stored, extra copies, delivery pairs judged, rooms read. */
  details: {
    messages: number;
    failedNotStored: number;
    extraCopies: number;
    deliveriesJudged: number;
    /** (stored message × subscriber) pairs not received because the subscriber was reconnecting meanwhile (not an anomaly). */
    missedWhileReconnecting: number;
    rooms: number;
    storedMarked: number;
    historyRecords: number;
    /** Receipts not kept to bound memory (then `undelivered` can be over-counted: see note). */
    droppedReceipts: number;
    rawFiles: number;
  };
  limits: { lost: 0; duplicates: 0; undelivered: number; spanMs: number };
  /** How to read the counts. */
  notes: string[];
  /** Up to 20 examples of each anomaly. */
  examples: Classification['examples'];
  thresholds: ThresholdResult[];
}

/** Reads the history, reads back every room, classifies, writes integrity.json (when runDir is given). */
export async function checkIntegrity(input: IntegrityInput): Promise<IntegrityReport> {
  const history = await readHistory(input.rawFiles, input.maxReceipts !== undefined ? { maxReceipts: input.maxReceipts } : {});
  const rooms = new Set<string>();
  for (const s of history.sends.values()) if (s.room) rooms.add(s.room);
  for (const s of history.sockets.values()) if (s.room) rooms.add(s.room);
  const stored = rooms.size ? await readRooms(input.target, [...rooms]) : [];
  const c = classify(history, stored, input.spanMs !== undefined ? { spanMs: input.spanMs } : {});
  const report = buildReport(c, {
    undeliveredLimit: input.undeliveredLimit ?? 0,
    spanMs: input.spanMs ?? 1000,
    rooms: rooms.size,
    storedMarked: stored.filter((m) => m.body.startsWith('k6m:')).length,
    historyRecords: history.records,
    droppedReceipts: history.dropped.receipts,
    rawFiles: input.rawFiles.length,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
  });
  if (input.runDir) await writeJson(join(input.runDir, INTEGRITY_FILE), report);
  return report;
}

export function buildReport(
  c: Classification,
  x: { undeliveredLimit: number; spanMs: number; rooms: number; storedMarked: number; historyRecords: number; droppedReceipts: number; rawFiles: number; runId?: string },
): IntegrityReport {
  const counts = { ok: c.ok, lost: c.lost, duplicates: c.duplicates, indeterminate: c.indeterminate, undelivered: c.undelivered, reordered: c.reordered };
  const thresholds = integrityThresholds(counts, c.messages, c.deliveriesJudged, x.undeliveredLimit);
  const notes = [
    'per message (marker): ok = acknowledged and stored once; lost = acknowledged, not stored; duplicates = stored more than once (any outcome); indeterminate = failed or unknown outcome (or no recorded send) yet stored once, not an error',
    `undelivered counts (stored message × hot-room subscriber open from before its send until ${x.spanMs} ms after its outcome) pairs without a receipt; reordered counts receipts of a lower seq than one already received from the same sender stream, per subscriber`,
    'only hot-room subscribers have their receipts recorded; the ws part\'s room-mates are not judged for delivery',
    'a subscriber that reconnected is judged only over the spans it was connected: a message sent while it was disconnected and never received counts in details.missedWhileReconnecting, not in undelivered',
  ];
  if (x.droppedReceipts > 0) notes.push(`${x.droppedReceipts} receipts were not kept (memory cap): undelivered may be over-counted`);
  return {
    version: 1,
    ...(x.runId !== undefined ? { runId: x.runId } : {}),
    verdict: thresholds.every((t) => t.result === 'pass') ? 'pass' : 'fail',
    ...counts,
    counts,
    details: {
      messages: c.messages,
      failedNotStored: c.failedNotStored,
      extraCopies: c.extraCopies,
      deliveriesJudged: c.deliveriesJudged,
      missedWhileReconnecting: c.missedWhileReconnecting,
      rooms: x.rooms,
      storedMarked: x.storedMarked,
      historyRecords: x.historyRecords,
      droppedReceipts: x.droppedReceipts,
      rawFiles: x.rawFiles,
    },
    limits: { lost: 0, duplicates: 0, undelivered: x.undeliveredLimit, spanMs: x.spanMs },
    notes,
    examples: c.examples,
    thresholds,
  };
}

/** The three integrity thresholds in the runner's shape (`samples` = messages or delivery pairs judged; none judged = no-samples). */
export function integrityThresholds(
  counts: Counts,
  messages: number,
  deliveries: number,
  undeliveredLimit: number,
): ThresholdResult[] {
  const make = (key: 'lost' | 'duplicates' | 'undelivered', op: '==' | '<=', limit: number, samples: number, meaning: string): ThresholdResult => {
    const observed = counts[key];
    const held = op === '==' ? observed === limit : observed <= limit;
    const metric = `integrity_${key}`;
    return {
      name: `${metric}: count${op}${limit}`,
      metric,
      baseMetric: metric,
      tags: {},
      expression: `count${op}${limit}`,
      aggregation: 'count',
      operator: op,
      limit,
      observed: samples === 0 ? null : observed,
      unit: '',
      samples,
      k6Ok: true,
      result: samples === 0 ? 'no-samples' : held ? 'pass' : 'fail',
      id: `integrity.${key}`,
      meaning,
    };
  };
  return [
    make('lost', '==', 0, messages, 'acknowledged messages missing from their room (integrity check)'),
    make('duplicates', '==', 0, messages, 'messages stored more than once (integrity check)'),
    make('undelivered', '<=', undeliveredLimit, deliveries, 'stored messages a subscriber connected at the time never got (integrity check)'),
  ];
}

/** The short printed table. */
export function formatIntegrity(r: IntegrityReport): string {
  const rows: [string, string][] = COUNT_KEYS.map((k) => [k, String(r.counts[k])]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [`integrity: ${r.verdict.toUpperCase()} (${r.details.messages} messages in ${r.details.rooms} rooms, ${r.details.deliveriesJudged} deliveries judged${r.details.droppedReceipts ? `, ${r.details.droppedReceipts} receipts dropped by the cap` : ''})`];
  for (const [k, v] of rows) {
    const limit = k === 'lost' || k === 'duplicates' ? '  (limit 0)' : k === 'undelivered' ? `  (limit ${r.limits.undelivered})` : '';
    lines.push(`  ${k.padEnd(w)}  ${v.padStart(6)}${limit}`);
  }
  for (const k of ['lost', 'duplicates', 'undelivered'] as const) {
    const ex = r.examples[k][0];
    if (ex) lines.push(`  e.g. ${k}: ${ex.marker}${'receiver' in ex ? ` → ${String(ex.receiver)}` : ''}${'copies' in ex ? ` ×${String(ex.copies)}` : ''}`);
  }
  return lines.join('\n');
}

export { MAX_EXAMPLES };
