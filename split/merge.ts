/**
 * `npm run load -- merge <dir>...`: the parts of one split run → one judged run.
 *
 * - The parts must belong together (part.json): one run id, one profile and scale, segments 1..n of one
 *   sequence, each once; the same threshold list in every part's k6 summary data (`suite.thresholds`).
 *   Anything else is bad input (exit 2). A split run's parts must have shared one hot room (prepare/--rooms:
 *   the hot room in each part's setup data); else the merge fails (its fan-out is not the unsplit run's).
 * - Every threshold is judged on the samples of all parts in bounded memory: each part's raw output is streamed
 *   once into per-(sub)metric SeriesStats (exact count, sum, min, max; a mergeable relative-error sketch for
 *   percentiles, series-stats.ts: within 0.5 %), the parts' stats are merged (bucket counts add: never an
 *   average of the parts' percentiles), and the thresholds are read from the merged stats. A threshold without
 *   samples fails (no-samples). The raw outputs are also concatenated into one `k6-raw.json.gz` for the report
 *   (gzip members back to back are one valid gzip stream; streamed, not held).
 * - The message integrity check runs once over the history of every part (integrity/), reading the rooms back
 *   from the target; its thresholds (lost, duplicates, undelivered) join the verdict. With --skip-integrity the
 *   merge says it was not run (merge.json, the printed summary) and judges the k6 thresholds only.
 * - The hot room's offered load (summary.json `hotRoom`, the printout): the parts' scheduled, sent and skipped
 *   publisher slots added; reported, not judged, as in one run.
 * - One summary.json (kind "load"), junit.xml, merge.json (the parts), integrity.json, report.html; exit 0
 *   pass, 1 fail.
 */
import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { junitXml } from '../runner/junit.js';
import { RAW_FILE } from '../runner/k6-run.js';
import type { IntegrityOptions } from '../integrity/index.js';
import { integrityStep } from '../integrity/run.js';
import { countSamples } from '../runner/raw.js';
import { formatHotRoom, hotRoomSectionOf, mergeHotRoomSections } from '../runner/hot-room-section.js';
import { JUNIT_FILE, SUMMARY_FILE } from '../runner/run-report.js';
import { pointLatest, writeJson } from '../runner/run-dir.js';
import { readK6SummaryData, RunSummary, type K6SummaryData, type ThresholdResult } from '../runner/summary.js';
import type { TargetFile } from '../runner/target-file.js';
import { formatSummary, holds, parseExpression, parseMetricName, verdictOf } from '../runner/verdict.js';
import { UsageError } from './config.js';
import { PART_FILE, PARTS_DIR, PartInfo } from './part.js';
import { partDirName } from './segments.js';
import { RELATIVE_ERROR, SeriesStats } from './series-stats.js';

export const MERGE_FILE = 'merge.json';

export interface LoadedPart {
  dir: string;
  info: PartInfo;
  /** k6 summary data; undefined when k6 wrote none (the part then fails the merge's verdict). */
  data: K6SummaryData | undefined;
  raw: string | undefined;
}

/** Part dirs among the given dirs: a part dir itself (has part.json), a run dir (parts/*), or a dir of parts. */
export function findPartDirs(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError('merge', `merge: ${d} is not a directory; allowed: part directories or run directories holding parts/`);
    if (existsSync(join(dir, PART_FILE))) {
      out.push(dir);
      continue;
    }
    const base = existsSync(join(dir, PARTS_DIR)) ? join(dir, PARTS_DIR) : dir;
    const found = readdirSync(base)
      .map((n) => join(base, n))
      .filter((p) => existsSync(join(p, PART_FILE)));
    // a folder of downloaded artifacts: <artifact>/<run-id>/parts/<i>-of-<n>/
    if (found.length === 0) {
      for (const n of readdirSync(base)) {
        const sub = join(base, n);
        if (statSync(sub).isDirectory()) {
          for (const inner of [join(sub, PARTS_DIR), sub]) {
            if (!existsSync(inner) || !statSync(inner).isDirectory()) continue;
            for (const m of readdirSync(inner)) if (existsSync(join(inner, m, PART_FILE))) found.push(join(inner, m));
            for (const m of readdirSync(inner)) {
              const deeper = join(inner, m, PARTS_DIR);
              if (existsSync(deeper)) for (const k of readdirSync(deeper)) if (existsSync(join(deeper, k, PART_FILE))) found.push(join(deeper, k));
            }
          }
        }
      }
    }
    if (found.length === 0) throw new UsageError('merge', `merge: no part (${PART_FILE}) in ${d}; allowed: part directories or run directories holding parts/`);
    out.push(...found);
  }
  return [...new Set(out)].sort();
}

export async function loadParts(dirs: readonly string[]): Promise<LoadedPart[]> {
  const parts: LoadedPart[] = [];
  for (const dir of findPartDirs(dirs)) {
    let info: PartInfo;
    try {
      info = PartInfo.parse(JSON.parse(await readFile(join(dir, PART_FILE), 'utf8')));
    } catch (err) {
      throw new UsageError('merge', `merge: ${join(dir, PART_FILE)} is malformed: ${(err as Error).message.split('\n')[0]}`);
    }
    const summaryPath = join(dir, info.files.k6Summary);
    const rawPath = join(dir, info.files.k6Raw);
    let data: K6SummaryData | undefined;
    if (existsSync(summaryPath)) {
      try {
        data = readK6SummaryData(summaryPath);
      } catch (err) {
        throw new UsageError('merge', `merge: ${summaryPath} is malformed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    parts.push({ dir, info, data, raw: existsSync(rawPath) ? rawPath : undefined });
  }
  return parts;
}

/** Throws UsageError unless the parts are segments 1..n of one run, each once. */
export function checkPartsBelongTogether(parts: readonly LoadedPart[]): void {
  const first = parts[0];
  if (!first) throw new UsageError('merge', 'merge: no parts given');
  for (const p of parts) {
    for (const [field, a, b] of [
      ['run id', p.info.runId, first.info.runId],
      ['profile', p.info.profile, first.info.profile],
      ['scale', String(p.info.scale ?? 1), String(first.info.scale ?? 1)],
      ['segment count', String(p.info.segment.count), String(first.info.segment.count)],
      ['segment sequence', p.info.segment.sequence, first.info.segment.sequence],
    ] as const) {
      if (a !== b) throw new UsageError('merge', `merge: parts of different runs (${field} ${a} in ${p.dir}, ${b} in ${first.dir}); allowed: the parts of one run`);
    }
  }
  const n = first.info.segment.count;
  const seen = new Map<number, string>();
  for (const p of parts) {
    const prev = seen.get(p.info.segment.index);
    if (prev) throw new UsageError('merge', `merge: part ${partDirName(p.info.segment)} given twice (${prev}, ${p.dir})`);
    seen.set(p.info.segment.index, p.dir);
  }
  const missing = Array.from({ length: n }, (_, k) => k + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError('merge', `merge: run ${first.info.runId} is missing part(s) ${missing.map((i) => `${i}-of-${n}`).join(', ')}; all ${n} parts are needed`);
}

interface ThresholdDef {
  key: string;
  expression: string;
  id?: string;
  meaning?: string;
  abortOnFail?: boolean;
}

/** The thresholds of the run: the `suite.thresholds` list, identical in every part that wrote summary data. */
export function thresholdDefs(parts: readonly LoadedPart[]): ThresholdDef[] {
  let defs: ThresholdDef[] | undefined;
  let from = '';
  for (const p of parts) {
    const list = p.data?.suite?.thresholds;
    if (!p.data) continue;
    if (!list) throw new UsageError('merge', `merge: ${p.dir}: k6 summary data without suite.thresholds (not a suite scenario)`);
    const mine = list
      .map((t) => ({ key: t.key, expression: t.expression, ...(t.id !== undefined ? { id: t.id } : {}), ...(t.meaning !== undefined ? { meaning: t.meaning } : {}), ...(t.abortOnFail !== undefined ? { abortOnFail: t.abortOnFail } : {}) }))
      .sort((a, b) => a.key.localeCompare(b.key) || a.expression.localeCompare(b.expression));
    if (!defs) {
      defs = mine;
      from = p.dir;
    } else {
      const sig = (ds: ThresholdDef[]) => ds.map((d) => `${d.key}: ${d.expression}`).join('\n');
      if (sig(defs) !== sig(mine)) throw new UsageError('merge', `merge: the parts define different thresholds (${from}, ${p.dir}); allowed: the parts of one run`);
    }
  }
  return defs ?? [];
}

/** Concatenates the parts' gzip raw outputs into one file (a multi-member gzip stream). */
export async function concatRaw(raws: readonly string[], out: string): Promise<void> {
  const ws = createWriteStream(out);
  for (const r of raws) await pipeline(createReadStream(r), ws, { end: false });
  await new Promise<void>((res, rej) => ws.end((err?: Error | null) => (err ? rej(err) : res())));
}

/**
 * The statistics of every (sub)metric `key` over all `raws`: each file streamed once into its own SeriesStats,
 * then merged. Memory: one sketch per key and file at a time, whatever the number of samples.
 */
export async function mergedStats(keys: readonly string[], raws: readonly string[]): Promise<Map<string, SeriesStats>> {
  keys = [...new Set(keys)]; // a (sub)metric with several thresholds (p(95), p(99)) is read once
  const merged = new Map(keys.map((k) => [k, new SeriesStats()]));
  for (const raw of raws) {
    const mine = new Map(keys.map((k) => [k, new SeriesStats()]));
    const filters = keys.map((key) => {
      const stats = mine.get(key)!;
      return { key, ...parseMetricName(key), onValue: (v: number) => stats.add(v) };
    });
    await countSamples(raw, filters);
    for (const [k, s] of mine) merged.get(k)!.merge(s);
  }
  return merged;
}

/** Judges every threshold on the merged statistics of the parts' samples. */
export function judgeMerged(defs: readonly ThresholdDef[], stats: ReadonlyMap<string, SeriesStats>, parts: readonly LoadedPart[]): ThresholdResult[] {
  return defs.map((d): ThresholdResult => {
    const { baseMetric, tags } = parseMetricName(d.key);
    const parsed = parseExpression(d.expression);
    const series = stats.get(d.key)!;
    const aggregation = parsed?.aggregation ?? d.expression;
    const observed = series.count === 0 || !parsed ? null : series.aggregate(aggregation);
    const metric = parts.map((p) => p.data?.metrics[d.key]).find((m) => m !== undefined);
    const k6Oks = parts.map((p) => p.data?.metrics[d.key]?.thresholds?.[d.expression]?.ok).filter((x): x is boolean => x !== undefined);
    const result = series.count === 0 ? 'no-samples' : observed !== null && parsed && holds(observed, parsed.operator, parsed.limit) ? 'pass' : 'fail';
    return {
      name: `${d.key}: ${d.expression}`,
      metric: d.key,
      baseMetric,
      tags,
      expression: d.expression,
      aggregation,
      operator: parsed?.operator ?? '?',
      limit: parsed?.limit ?? Number.NaN,
      observed,
      unit: metric?.contains === 'time' ? 'ms' : metric?.contains === 'data' ? 'B' : '',
      samples: series.count,
      // what the parts' k6 processes said, each about its own share only: every part held it
      k6Ok: k6Oks.length > 0 && k6Oks.every(Boolean),
      result,
      ...(d.id !== undefined ? { id: d.id } : {}),
      ...(d.meaning !== undefined ? { meaning: d.meaning } : {}),
      ...(d.abortOnFail !== undefined ? { abortOnFail: d.abortOnFail } : {}),
    };
  });
}

/** The hot room each part's setup() used (k6 summary data, setup_data.rooms.hot). */
function hotRoomOf(p: LoadedPart): string | undefined {
  const setup = (p.data as { setup_data?: { rooms?: { hot?: unknown } } } | undefined)?.setup_data;
  return typeof setup?.rooms?.hot === 'string' ? setup.rooms.hot : undefined;
}

/** An error when the parts of a split run did not all use one hot room (a part without one fails on its own thresholds). */
export function hotRoomError(parts: readonly LoadedPart[]): string | undefined {
  if (parts.length < 2) return undefined;
  const rooms = new Set(parts.map(hotRoomOf).filter((r): r is string => r !== undefined));
  if (rooms.size <= 1) return undefined;
  return `the parts used ${rooms.size} different hot rooms (${[...rooms].slice(0, 4).join(', ')}): a split run's hot room is shared (npm run load -- prepare, then --rooms for every part), else its fan-out is not the unsplit run's`;
}

export interface MergeOptions {
  dirs: string[];
  /** Output run dir (default: the run dir above the parts when they share one, else reports/<run-id>). */
  out?: string;
  log?: (line: string) => void;
  /** The integrity check's target and limits, or 'skip' (said in merge.json and the printed summary). */
  integrity: { target: TargetFile; options: IntegrityOptions } | 'skip';
  /** Render report.html (default true). */
  report?: boolean;
  latest?: boolean;
}

export interface MergeResult {
  code: number;
  summary: RunSummary;
  outDir: string;
}

export async function mergeParts(opts: MergeOptions): Promise<MergeResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const startedAt = new Date();
  const parts = await loadParts(opts.dirs);
  checkPartsBelongTogether(parts);
  parts.sort((a, b) => a.info.segment.index - b.info.segment.index);
  const defs = thresholdDefs(parts);
  const first = parts[0]!;
  const commonRunDir = [...new Set(parts.map((p) => dirname(dirname(p.dir))))];
  const outDir = resolve(opts.out ?? (commonRunDir.length === 1 && basename(dirname(parts[0]!.dir)) === PARTS_DIR ? commonRunDir[0]! : join('reports', first.info.runId)));
  await mkdir(outDir, { recursive: true });

  const errors: string[] = [];
  for (const p of parts) {
    const name = partDirName(p.info.segment);
    if (p.info.timedOut) errors.push(`part ${name}: k6 ran past its time limit and was stopped`);
    if (p.info.k6ExitCode !== 0 && p.info.k6ExitCode !== 99) errors.push(`part ${name}: k6 exited with ${p.info.k6ExitCode === null ? `signal ${p.info.k6Signal}` : `code ${p.info.k6ExitCode}`}`);
    if (!p.data) errors.push(`part ${name}: k6 wrote no summary data`);
    if (!p.raw) errors.push(`part ${name}: k6 wrote no raw output`);
  }
  if (defs.length === 0) errors.push('the run defined no thresholds: nothing was judged');
  const hotRooms = hotRoomError(parts);
  if (hotRooms) errors.push(hotRooms);
  const raws = parts.flatMap((p) => (p.raw ? [p.raw] : []));
  await concatRaw(raws, join(outDir, RAW_FILE));
  let thresholds = defs.length ? judgeMerged(defs, await mergedStats(defs.map((d) => d.key), raws), parts) : [];

  // The integrity check: once, over the history of every part, the rooms read back from the target.
  const files: Record<string, string> = {};
  let integrityTable: string | undefined;
  if (opts.integrity === 'skip') {
    log('integrity check NOT run (--skip-integrity): this verdict says nothing about lost, duplicated or undelivered messages');
  } else {
    const integrity = await integrityStep({ rawPath: raws, target: opts.integrity.target, runDir: outDir, runId: first.info.runId, options: opts.integrity.options, profile: first.info.profile }, log);
    thresholds = [...thresholds, ...integrity.thresholds];
    errors.push(...integrity.errors);
    Object.assign(files, integrity.files);
    integrityTable = integrity.table;
  }

  const iso = (xs: (string | undefined)[], pick: 'min' | 'max') => {
    const ts = xs.filter((x): x is string => !!x).sort();
    return pick === 'min' ? ts[0] : ts[ts.length - 1];
  };
  const exitCodes = [...new Set(parts.map((p) => p.info.k6ExitCode))];
  const loadStartedAt = iso(parts.map((p) => p.info.loadStartedAt), 'min');
  const hotRoom = mergeHotRoomSections(parts.map((p) => (p.data ? hotRoomSectionOf(p.data) : undefined)));
  const summary = RunSummary.parse({
    runId: first.info.runId,
    kind: 'load',
    profile: first.info.profile,
    verdict: verdictOf(thresholds, errors),
    errors,
    startedAt: iso(parts.map((p) => p.info.startedAt), 'min') ?? startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ...(loadStartedAt ? { loadStartedAt } : {}),
    durations: { loadMs: Math.max(...parts.map((p) => p.info.loadMs)) },
    k6Version: [...new Set(parts.map((p) => p.info.k6Version))].join(', '),
    k6ExitCode: exitCodes.length === 1 ? exitCodes[0]! : (exitCodes.find((c) => c !== 0) ?? null),
    gitRevision: [...new Set(parts.map((p) => p.info.gitRevision))].join(', '),
    target: first.info.target,
    thresholds,
    ...(hotRoom ? { hotRoom } : {}),
    files: { summary: SUMMARY_FILE, junit: JUNIT_FILE, k6Raw: RAW_FILE, merge: MERGE_FILE, ...files },
  });
  await writeJson(join(outDir, MERGE_FILE), {
    version: 1,
    runId: first.info.runId,
    profile: first.info.profile,
    scale: first.info.scale ?? 1,
    sequence: first.info.segment.sequence,
    parts: parts.map((p) => ({ dir: p.dir, segment: p.info.segment, host: p.info.host, k6ExitCode: p.info.k6ExitCode, loadStartedAt: p.info.loadStartedAt, loadMs: p.info.loadMs, hotRoom: hotRoomOf(p) ?? null })),
    method: `thresholds judged on the merged statistics of every part's samples: counts, rates, avg, min, max exact; percentiles from merged relative-error sketches (within ${RELATIVE_ERROR * 100} % of the exact k6 percentile), never averaged`,
    integrity: opts.integrity === 'skip' ? { checked: false, reason: '--skip-integrity: the verdict says nothing about lost, duplicated or undelivered messages' } : { checked: files.integrity !== undefined, file: files.integrity ?? null },
  });
  await writeJson(join(outDir, SUMMARY_FILE), summary);
  await writeFile(join(outDir, JUNIT_FILE), junitXml(summary));
  if (opts.report ?? true) {
    try {
      const { writeRunReport } = await import('../report/index.js');
      const path = await writeRunReport(outDir);
      summary.files.report = basename(path);
      await writeJson(join(outDir, SUMMARY_FILE), summary);
    } catch (err) {
      log(`no HTML report: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (opts.latest ?? true) await pointLatest(outDir, dirname(outDir)).catch(() => undefined);
  log(formatSummary(summary.verdict, summary.thresholds, summary.errors));
  if (integrityTable) log(integrityTable);
  for (const line of formatHotRoom(summary.hotRoom)) log(line);
  log(`merged ${parts.length} parts of ${summary.runId} into ${outDir}${opts.integrity === 'skip' ? ' (integrity NOT checked)' : ''}`);
  return { code: summary.verdict === 'pass' ? 0 : 1, summary, outDir };
}
