/**
 * Compares a run with a baseline run: p95 per endpoint group and the HTTP error rate over the whole run.
 * A regression is a p95 above the baseline's by more than `p95MarginPct` percent (and by more than `p95MinMs`, default
 * 5 ms, so run-to-run noise on fast endpoints does not count), or an error rate above the baseline's by more
 * than `errorMarginPp` percentage points.
 */
import { z } from 'zod';
import type { ReportModel } from './model.js';

export const CompareOptions = z.object({
  p95MarginPct: z.number().nonnegative().default(10),
  errorMarginPp: z.number().nonnegative().default(0.5),
  p95MinMs: z.number().nonnegative().default(5),
});
export type CompareOptions = z.infer<typeof CompareOptions>;

export interface CompareRow {
  what: string;
  baseline: number | null;
  run: number | null;
  delta: string;
  limit: string;
  status: 'ok' | 'REGRESSION' | 'only in run' | 'only in baseline' | 'no data';
}

export interface CompareResult {
  rows: CompareRow[];
  regressions: CompareRow[];
}

const n = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

export function compareModels(run: ReportModel, baseline: ReportModel, opts: CompareOptions): CompareResult {
  const rows: CompareRow[] = [];
  const groups = [...new Set([...Object.keys(baseline.totals.all.groups), ...Object.keys(run.totals.all.groups)])].sort();
  for (const g of groups) {
    const b = n(baseline.totals.all.groups[g]?.p95);
    const r = n(run.totals.all.groups[g]?.p95);
    const limit = b === null ? null : Math.max(b * (1 + opts.p95MarginPct / 100), b + opts.p95MinMs);
    let status: CompareRow['status'];
    if (b === null && r === null) status = 'no data';
    else if (b === null) status = 'only in run';
    else if (r === null) status = 'only in baseline';
    else status = r > limit! ? 'REGRESSION' : 'ok';
    rows.push({
      what: `p95 ${g} (ms)`,
      baseline: b,
      run: r,
      delta: b !== null && r !== null ? `${r >= b ? '+' : ''}${(r - b).toFixed(1)} ms (${b > 0 ? `${r >= b ? '+' : ''}${(((r - b) / b) * 100).toFixed(1)} %` : 'n/a'})` : '–',
      limit: limit === null ? '–' : `<= ${limit.toFixed(1)}`,
      status,
    });
  }
  const be = n(baseline.totals.all.errorRate);
  const re = n(run.totals.all.errorRate);
  const elimit = be === null ? null : be + opts.errorMarginPp;
  rows.push({
    what: 'http error rate (%)',
    baseline: be,
    run: re,
    delta: be !== null && re !== null ? `${re >= be ? '+' : ''}${(re - be).toFixed(3)} pp` : '–',
    limit: elimit === null ? '–' : `<= ${elimit.toFixed(3)}`,
    status: be === null && re === null ? 'no data' : be === null ? 'only in run' : re === null ? 'only in baseline' : re > elimit! ? 'REGRESSION' : 'ok',
  });
  return { rows, regressions: rows.filter((r) => r.status === 'REGRESSION') };
}

export function formatCompare(run: ReportModel, baseline: ReportModel, res: CompareResult, opts: CompareOptions): string {
  const head = ['metric', 'baseline', 'run', 'delta', 'limit', 'status'];
  const body = res.rows.map((r) => [
    r.what,
    r.baseline === null ? '–' : r.baseline.toFixed(r.what.startsWith('http') ? 3 : 1),
    r.run === null ? '–' : r.run.toFixed(r.what.startsWith('http') ? 3 : 1),
    r.delta,
    r.limit,
    r.status,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `run ${run.runId} vs baseline ${baseline.runId} (p95 margin ${opts.p95MarginPct} % and at least ${opts.p95MinMs} ms, error margin +${opts.errorMarginPp} pp)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    res.regressions.length ? `REGRESSION: ${res.regressions.map((r) => r.what).join(', ')}` : 'no regression',
  ].join('\n');
}
