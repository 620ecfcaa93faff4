/**
 * `npm run load -- merge <dir>...`: the parts of one split run → one judged run.
 *
 * - The parts must belong together (part.json): one run id, one profile and scale, segments 1..n of one
 *   sequence, each once; the same threshold list in every part's k6 summary data (`suite.thresholds`).
 *   Anything else is bad input (exit 2).
 * - The raw outputs are concatenated into one `k6-raw.json.gz` (gzip members back to back are one valid gzip
 *   stream), and every threshold is judged on those merged samples with harness/verdict.ts's pieces:
 *   percentiles from the merged sample values (k6's interpolation), rates from the summed 0/1 samples, counts
 *   summed; never an average of the parts' percentiles. A threshold without samples fails (no-samples).
 * - One summary.json (kind "load"), junit.xml, merge.json (the parts), report.html; exit 0 pass, 1 fail.
 */
import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { junitXml } from '../junit.js';
import { RAW_FILE } from '../k6-run.js';
import { countSamples, type SeriesFilter } from '../raw.js';
import { JUNIT_FILE, SUMMARY_FILE } from '../run-report.js';
import { pointLatest, writeJson } from '../run-dir.js';
import { readK6SummaryData, RunSummary, type K6SummaryData, type ThresholdResult } from '../summary.js';
import { aggregate, formatSummary, holds, parseExpression, parseMetricName, verdictOf } from '../verdict.js';
import { UsageError } from './config.js';
import { PART_FILE, PARTS_DIR, PartInfo } from './part.js';
import { partDirName } from './segments.js';

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

/** Judges every threshold on the samples of `rawPath` (the merged output). */
export async function judgeMerged(defs: readonly ThresholdDef[], rawPath: string, parts: readonly LoadedPart[]): Promise<ThresholdResult[]> {
  const filters = new Map<string, SeriesFilter>();
  for (const d of defs) {
    const { baseMetric, tags } = parseMetricName(d.key);
    filters.set(d.key, { key: d.key, baseMetric, tags, keepValues: true });
  }
  const counts = await countSamples(rawPath, [...filters.values()]);
  return defs.map((d): ThresholdResult => {
    const { baseMetric, tags } = parseMetricName(d.key);
    const parsed = parseExpression(d.expression);
    const count = counts.get(d.key)!;
    const aggregation = parsed?.aggregation ?? d.expression;
    const observed = count.samples === 0 || !parsed ? null : aggregate(count.values ?? [], aggregation);
    const metric = parts.map((p) => p.data?.metrics[d.key]).find((m) => m !== undefined);
    const k6Oks = parts.map((p) => p.data?.metrics[d.key]?.thresholds?.[d.expression]?.ok).filter((x): x is boolean => x !== undefined);
    const result = count.samples === 0 ? 'no-samples' : observed !== null && parsed && holds(observed, parsed.operator, parsed.limit) ? 'pass' : 'fail';
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
      samples: count.samples,
      // what the parts' k6 processes said, each about its own share only: every part held it
      k6Ok: k6Oks.length > 0 && k6Oks.every(Boolean),
      result,
      ...(d.id !== undefined ? { id: d.id } : {}),
      ...(d.meaning !== undefined ? { meaning: d.meaning } : {}),
      ...(d.abortOnFail !== undefined ? { abortOnFail: d.abortOnFail } : {}),
    };
  });
}

export interface MergeOptions {
  dirs: string[];
  /** Output run dir (default: the run dir above the parts when they share one, else reports/<run-id>). */
  out?: string;
  log?: (line: string) => void;
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
  const rawOut = join(outDir, RAW_FILE);
  await concatRaw(parts.flatMap((p) => (p.raw ? [p.raw] : [])), rawOut);
  const thresholds = defs.length ? await judgeMerged(defs, rawOut, parts) : [];

  const iso = (xs: (string | undefined)[], pick: 'min' | 'max') => {
    const ts = xs.filter((x): x is string => !!x).sort();
    return pick === 'min' ? ts[0] : ts[ts.length - 1];
  };
  const exitCodes = [...new Set(parts.map((p) => p.info.k6ExitCode))];
  const loadStartedAt = iso(parts.map((p) => p.info.loadStartedAt), 'min');
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
    files: { summary: SUMMARY_FILE, junit: JUNIT_FILE, k6Raw: RAW_FILE, merge: MERGE_FILE },
  });
  await writeJson(join(outDir, MERGE_FILE), {
    version: 1,
    runId: first.info.runId,
    profile: first.info.profile,
    scale: first.info.scale ?? 1,
    sequence: first.info.segment.sequence,
    parts: parts.map((p) => ({ dir: p.dir, segment: p.info.segment, host: p.info.host, k6ExitCode: p.info.k6ExitCode, loadStartedAt: p.info.loadStartedAt, loadMs: p.info.loadMs })),
    method: 'thresholds judged on the concatenated raw samples of every part: percentiles of the merged values, rates of the summed samples',
  });
  await writeJson(join(outDir, SUMMARY_FILE), summary);
  await writeFile(join(outDir, JUNIT_FILE), junitXml(summary));
  if (opts.report ?? true) {
    try {
      const { writeRunReport } = await import('../../report/index.js');
      const path = await writeRunReport(outDir);
      summary.files.report = basename(path);
      await writeJson(join(outDir, SUMMARY_FILE), summary);
    } catch (err) {
      log(`no HTML report: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (opts.latest ?? true) await pointLatest(outDir, dirname(outDir)).catch(() => undefined);
  log(formatSummary(summary.verdict, summary.thresholds, summary.errors));
  log(`merged ${parts.length} parts of ${summary.runId} into ${outDir}`);
  return { code: summary.verdict === 'pass' ? 0 : 1, summary, outDir };
}
