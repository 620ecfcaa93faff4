/**
 * Compares a run with a baseline run: p95 per endpoint group and the HTTP error rate of the load (setup requests,
 * phase:setup, are left out of both). A change is a regression only when it is beyond noise on every count:
 *
 *   p95 of a group   run > baseline × (1 + p95MarginPct/100)  AND  run − baseline > p95MinMs
 *   error rate       run > baseline × (1 + errorMarginPct/100) AND  run − baseline > errorMarginPp
 *   both             at least `minSamples` requests (in the group / in the run) on BOTH sides, else listed, not judged
 *
 * Defaults (50 %, 40 ms; 50 %, 0.5 pp; 30 requests) come from healthy smokes on a loaded 2-core machine: a fast
 * group's p95 wandered from 12.6 to 29.5 ms (+134 %, +16.9 ms) and from 28.4 to 63.9 ms (+125 %, +35.5 ms) between
 * two runs in a row. The relative margin alone cannot tell that from a slower target, the floor does; a target
 * twice as slow on a group whose p95 is above the floor (40 ms) is still a regression.
 */
import { z } from 'zod';
import type { ReportModel } from './model.js';

export const CompareOptions = z.object({
  p95MarginPct: z.number().nonnegative().default(50),
  errorMarginPp: z.number().nonnegative().default(0.5),
  /** The error rate must also rise by this many percent of the baseline's (a floor of errorMarginPp always applies). */
  errorMarginPct: z.number().nonnegative().default(50),
  p95MinMs: z.number().nonnegative().default(40),
  /** Groups with fewer requests than this in either run (set-up calls such as login) are listed, not judged. */
  minSamples: z.number().int().nonnegative().default(30),
});
export type CompareOptions = z.infer<typeof CompareOptions>;

export interface CompareRow {
  what: string;
  /** Fewest requests of the two runs (p95 rows). */
  samples?: number;
  baseline: number | null;
  run: number | null;
  delta: string;
  limit: string;
  status: 'ok' | 'REGRESSION' | 'only in run' | 'only in baseline' | 'no data' | 'too few samples';
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
    const fewest = Math.min(baseline.totals.all.groups[g]?.count ?? 0, run.totals.all.groups[g]?.count ?? 0);
    const limit = b === null ? null : Math.max(b * (1 + opts.p95MarginPct / 100), b + opts.p95MinMs);
    let status: CompareRow['status'];
    if (b === null && r === null) status = 'no data';
    else if (b === null) status = 'only in run';
    else if (r === null) status = 'only in baseline';
    else if (fewest < opts.minSamples) status = 'too few samples';
    else status = r > limit! ? 'REGRESSION' : 'ok';
    rows.push({
      what: `p95 ${g} (ms)`,
      samples: fewest,
      baseline: b,
      run: r,
      delta: b !== null && r !== null ? `${r >= b ? '+' : ''}${(r - b).toFixed(1)} ms (${b > 0 ? `${r >= b ? '+' : ''}${(((r - b) / b) * 100).toFixed(1)} %` : 'n/a'})` : '–',
      limit: limit === null ? '–' : `<= ${limit.toFixed(1)}`,
      status,
    });
  }
  const be = n(baseline.totals.all.errorRate);
  const re = n(run.totals.all.errorRate);
  const elimit = be === null ? null : Math.max(be * (1 + opts.errorMarginPct / 100), be + opts.errorMarginPp);
  const fewestReqs = Math.min(baseline.totals.all.reqs ?? 0, run.totals.all.reqs ?? 0);
  rows.push({
    what: 'http error rate (%)',
    samples: fewestReqs,
    baseline: be,
    run: re,
    delta: be !== null && re !== null ? `${re >= be ? '+' : ''}${(re - be).toFixed(3)} pp` : '–',
    limit: elimit === null ? '–' : `<= ${elimit.toFixed(3)}`,
    status:
      be === null && re === null ? 'no data'
      : be === null ? 'only in run'
      : re === null ? 'only in baseline'
      : fewestReqs < opts.minSamples ? 'too few samples'
      : re > elimit! ? 'REGRESSION' : 'ok',
  });
  return { rows, regressions: rows.filter((r) => r.status === 'REGRESSION') };
}

export function formatCompare(run: ReportModel, baseline: ReportModel, res: CompareResult, opts: CompareOptions): string {
  const head = ['metric', 'n', 'baseline', 'run', 'delta', 'limit', 'status'];
  const body = res.rows.map((r) => [
    r.what,
    r.samples === undefined ? '' : String(r.samples),
    r.baseline === null ? '–' : r.baseline.toFixed(r.what.startsWith('http') ? 3 : 1),
    r.run === null ? '–' : r.run.toFixed(r.what.startsWith('http') ? 3 : 1),
    r.delta,
    r.limit,
    r.status,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const warnings = [run, baseline]
    .filter((m) => m.raw?.truncated)
    .map((m) => `warning: ${m.runId}: its raw output ends early (a run still going, or killed): figures cover what was read`);
  return [
    ...warnings,
    `run ${run.runId} vs baseline ${baseline.runId} (a regression needs p95 above the baseline by ${opts.p95MarginPct} % and by ${opts.p95MinMs} ms, error rate by ${opts.errorMarginPct} % and by ${opts.errorMarginPp} pp, and ${opts.minSamples}+ requests on both sides)`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    res.regressions.length ? `REGRESSION: ${res.regressions.map((r) => r.what).join(', ')}` : 'no regression',
  ].join('\n');
}
