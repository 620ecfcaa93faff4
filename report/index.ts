/**
 * Public API of the report: `writeRunReport(runDir)` renders `<runDir>/report.html` (and `report-data.json`),
 * refreshes `<runDir>/../index.html`, and appends a markdown summary to $GITHUB_STEP_SUMMARY when it is set.
 */
import { appendFileSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { buildModel, readRunInputs, MODEL_VERSION, type ReportModel } from './model.js';
import { renderIndex, renderReport, type IndexRow } from './html.js';
import { RunSummaryLoose } from './inputs.js';

export { buildModel, type ReportModel } from './model.js';
export { InputError } from './inputs.js';

export const REPORT_FILE = 'report.html';
export const DATA_FILE = 'report-data.json';
export const INDEX_FILE = 'index.html';

/** Writes a file through a temporary name, so a reader never sees half of it. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export interface WriteOptions {
  /** Append the markdown summary to $GITHUB_STEP_SUMMARY (default: when the variable is set). */
  stepSummary?: boolean;
}

/**
 * Renders the run's report from the files in `runDir` (k6 raw output required; summary.json, drill.json and
 * integrity.json used when present), refreshes the runs index beside it, and returns the report's path.
 */
export async function writeRunReport(runDir: string, opts: WriteOptions = {}): Promise<string> {
  const dir = resolve(runDir);
  const model = await buildModel(dir);
  const inputs = readRunInputs(dir);
  const html = renderReport(model, {
    'summary.json': inputs.summary,
    'drill.json': inputs.drill ? JSON.parse(readFileSync(join(dir, 'drill.json'), 'utf8')) : null,
    'integrity.json': inputs.integrity ? JSON.parse(readFileSync(join(dir, 'integrity.json'), 'utf8')) : null,
  });
  const out = join(dir, REPORT_FILE);
  writeAtomic(join(dir, DATA_FILE), JSON.stringify(model));
  writeAtomic(out, html);
  writeIndex(dirname(dir));
  const summaryPath = process.env['GITHUB_STEP_SUMMARY'];
  if ((opts.stepSummary ?? true) && summaryPath) appendFileSync(summaryPath, markdownSummary(model));
  return out;
}

/** Reads a run's saved model, or null when it has none (or one of an older version). */
export function readModel(runDir: string): ReportModel | null {
  const p = join(runDir, DATA_FILE);
  if (!existsSync(p)) return null;
  try {
    const m = JSON.parse(readFileSync(p, 'utf8')) as ReportModel;
    return m.version === MODEL_VERSION ? m : null;
  } catch {
    return null;
  }
}

/** Rewrites `<reportsDir>/index.html` from every run directory in it (symlinks such as `latest` skipped). */
export function writeIndex(reportsDir: string): string {
  const rows: (IndexRow & { sortKey: number })[] = [];
  for (const name of readdirSync(reportsDir)) {
    const dir = join(reportsDir, name);
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory() || st.isSymbolicLink()) continue;
    const model = readModel(dir);
    let summary: RunSummaryLoose | null = null;
    if (!model && existsSync(join(dir, 'summary.json'))) {
      try {
        summary = RunSummaryLoose.parse(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')));
      } catch {
        summary = null;
      }
    }
    if (!model && !summary) continue;
    const date = model?.header.date ?? summary?.startedAt ?? new Date(statSync(dir).mtimeMs).toISOString();
    const parsed = Date.parse(date);
    rows.push({
      runId: model?.runId ?? summary?.runId ?? name,
      href: existsSync(join(dir, REPORT_FILE)) ? `${encodeURIComponent(name)}/${REPORT_FILE}` : `${encodeURIComponent(name)}/`,
      date,
      verdict: model?.header.verdict ?? summary?.verdict ?? 'unknown',
      kind: model?.header.kind ?? summary?.kind ?? null,
      profile: model?.header.profile ?? summary?.profile ?? 'unknown',
      headline: model?.headline ?? null,
      sortKey: Number.isFinite(parsed) ? parsed : st.mtimeMs,
    });
  }
  rows.sort((a, b) => b.sortKey - a.sortKey || b.runId.localeCompare(a.runId));
  const out = join(reportsDir, INDEX_FILE);
  writeAtomic(out, renderIndex(rows));
  return out;
}

const f = (v: number | null | undefined, d = 1, unit = '') =>
  v === null || v === undefined ? '–' : `${Number(v.toFixed(d))}${unit}`;
/** Markdown table cell: no pipes or line breaks. */
const cell = (s: unknown) => String(s ?? '').replace(/[|\r\n]/g, ' ');

/** The run in a few markdown lines, for $GITHUB_STEP_SUMMARY. */
export function markdownSummary(m: ReportModel): string {
  const hl = m.headline;
  const lines = [
    `### Run ${cell(m.runId)}: ${m.header.verdict === 'pass' ? 'PASS' : m.header.verdict === 'fail' ? 'FAIL' : cell(m.header.verdict)}`,
    '',
    `${cell(m.header.kind ?? 'run')}, profile ${cell(m.header.profile)}, target ${cell(m.header.target)}, k6 ${cell(m.header.k6Version)}, revision ${cell(m.header.gitRevision)}`,
    '',
    `${hl.reqs} requests in ${hl.durationS} s, errors ${f(hl.errorRate, 3, ' %')}, p95 ${f(hl.p95, 1, ' ms')}, p99 ${f(hl.p99, 1, ' ms')}`,
    '',
  ];
  const groups = Object.entries(m.totals.all.groups);
  if (groups.length) {
    lines.push('| endpoint group | requests | p95 ms | p99 ms | errors |', '|---|---:|---:|---:|---:|');
    for (const [g, s] of groups) lines.push(`| ${cell(g)} | ${s.count} | ${f(s.p95)} | ${f(s.p99)} | ${f(s.errorRate, 3, ' %')} |`);
    lines.push('');
  }
  if (m.faults.length) {
    lines.push('| fault | lasted | failover | recovery |', '|---|---:|---:|---:|');
    for (const x of m.faults) {
      const lasted = x.inject !== null && x.heal !== null ? x.heal - x.inject : null;
      lines.push(`| ${cell(x.label)} | ${f(lasted, 1, ' s')} | ${f(x.failoverS, 1, ' s')} | ${f(x.recoveryS, 1, ' s')} |`);
    }
    lines.push('');
  }
  const failed = m.thresholds.filter((t) => t.result === 'fail');
  if (failed.length) {
    lines.push('Breached thresholds:', '');
    for (const t of failed) lines.push(`- \`${cell(t.metric)}\` ${cell(t.expression)}: observed ${f(t.observed, 3)}`);
    lines.push('');
  }
  if (m.integrity) {
    lines.push(`Integrity: ${Object.entries(m.integrity).map(([k, v]) => `${k} ${v ?? '–'}`).join(', ')}`, '');
  }
  lines.push(`Report: \`${cell(basename(m.runId))}/${REPORT_FILE}\``, '');
  return `${lines.join('\n')}\n`;
}
