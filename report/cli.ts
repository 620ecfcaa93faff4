/**
 * npm run report -- <run-dir | run-id | latest>          render reports/<run>/report.html again from saved data
 * npm run report -- index                                 rewrite reports/index.html
 * npm run report -- compare <run> <baseline> [--p95-margin 50] [--p95-min-ms 40] [--error-margin 0.5] [--error-margin-pct 50] [--min-samples 30]
 *
 * Exit codes: 0 done / no regression, 1 regression, 2 bad usage or input (one line on stderr).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { buildModel, InputError, readModel, writeIndex, writeRunReport } from './index.js';
import { CompareOptions, compareModels, formatCompare } from './compare.js';
import { oneLine, UsageError } from '../runner/usage-error.js';
import { helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from '../runner/cli-flags.js';

const reportsDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'reports');


/** compare's defaults, from report/compare.ts (the one place they are set). */
const COMPARE_DEFAULTS = CompareOptions.parse({});

export const REPORT_COMMAND: CommandSpec = {
  invocation: 'npm run report --',
  usage: [
    '<run-dir | run-id | latest>',
    'index',
    `compare <run> <baseline> [--p95-margin ${COMPARE_DEFAULTS.p95MarginPct}] [--p95-min-ms ${COMPARE_DEFAULTS.p95MinMs}] [--error-margin ${COMPARE_DEFAULTS.errorMarginPp}] [--error-margin-pct ${COMPARE_DEFAULTS.errorMarginPct}] [--min-samples ${COMPARE_DEFAULTS.minSamples}]`,
  ],
  about: `Renders reports/<run>/report.html again from a run's saved files (summary.json, k6 summary data, raw output,
drill.json), rewrites reports/index.html, or compares a run with a baseline: a p95 above the baseline's by more
than the margin (and by at least --p95-min-ms), or an error rate above it by more than --error-margin points and
by more than --error-margin-pct percent of the baseline's, is a regression. Groups with fewer than --min-samples
requests in either run are not compared (and say so).`,
  commands: [
    { name: '<run>', help: 'a run folder, or a run id / latest under reports/: render its report.html' },
    { name: 'index', help: 'rewrite reports/index.html (every run, newest first)' },
    { name: 'compare', help: 'compare <run> with <baseline>; exit 1 on a regression' },
  ],
  flags: [
    { name: 'p95-margin', type: 'string', value: '<percent>', help: 'compare: a p95 this much above the baseline is a regression', default: String(COMPARE_DEFAULTS.p95MarginPct) },
    { name: 'p95-min-ms', type: 'string', value: '<ms>', help: 'compare: and by at least this many milliseconds', default: String(COMPARE_DEFAULTS.p95MinMs) },
    { name: 'error-margin', type: 'string', value: '<points>', help: 'compare: an error rate this many percentage points above the baseline is a regression', default: String(COMPARE_DEFAULTS.errorMarginPp) },
    { name: 'error-margin-pct', type: 'string', value: '<percent>', help: 'compare: and this many percent of the baseline\'s error rate above it', default: String(COMPARE_DEFAULTS.errorMarginPct) },
    { name: 'min-samples', type: 'string', value: '<n>', help: 'compare: fewest requests of a group in both runs for it to be compared', default: String(COMPARE_DEFAULTS.minSamples) },
    HELP_FLAG,
  ],
  exitCodes: [[0, 'done / no regression'], [1, 'a regression (compare)'], [2, 'bad usage or input (one line on stderr)']],
  examples: ['npm run report -- latest', 'npm run report -- index', 'npm run report -- compare latest 20261201T101500Z-smoke-ab12 --p95-margin 15'],
};
const USAGE = 'usage: npm run report -- <run-dir> | index | compare <run> <baseline> [options] (see --help)';

/** A run given as a directory path, or as a run id / `latest` under reports/. */
function resolveRun(arg: string): string {
  for (const p of [resolve(arg), join(reportsDir, arg)]) if (existsSync(p)) return p;
  throw new UsageError(arg, `${arg}: run not found; allowed: a run folder, or a run id / latest under reports/`);
}

const Margin = (setting: string, what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `${setting} must be a non-negative number (${what}), got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

const CompareFlags = z.object({
  'p95-margin': Margin('--p95-margin', 'percent'),
  'error-margin': Margin('--error-margin', 'percentage points'),
  'error-margin-pct': Margin('--error-margin-pct', 'percent'),
  'p95-min-ms': Margin('--p95-min-ms', 'milliseconds'),
  'min-samples': Margin('--min-samples', 'requests').refine((v) => v === undefined || Number.isInteger(v), {
    message: '--min-samples must be a whole number of requests',
  }),
});

async function modelOf(dir: string) {
  return readModel(dir) ?? (await buildModel(dir));
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(REPORT_COMMAND, argv, { positionals: true });
  if (values.help) {
    console.log(helpText(REPORT_COMMAND));
    return 0;
  }
  const [cmd, ...rest] = positionals;
  if (cmd === undefined) throw new UsageError('command', `command: missing; ${USAGE}`);
  if (cmd === 'compare') {
    if (rest.length !== 2) throw new UsageError('compare', `compare: needs two runs, <run> <baseline>; got ${rest.length}`);
    const flags = CompareFlags.safeParse(values);
    if (!flags.success) throw new UsageError(flags.error.issues[0]!.message.replace(/^(--[\w-]+) must be/, '$1: must be'));
    const opts = CompareOptions.parse({
      p95MarginPct: flags.data['p95-margin'],
      errorMarginPp: flags.data['error-margin'],
      errorMarginPct: flags.data['error-margin-pct'],
      p95MinMs: flags.data['p95-min-ms'],
      minSamples: flags.data['min-samples'],
    });
    const [runDir, baseDir] = [resolveRun(rest[0]!), resolveRun(rest[1]!)];
    const [run, base] = [await modelOf(runDir), await modelOf(baseDir)];
    for (const [name, m] of [['run', run], ['baseline', base]] as const) {
      if (m.headline.reqs === 0) throw new UsageError(name, `${name}: ${m.runId} has no HTTP requests to compare`);
    }
    const res = compareModels(run, base, opts);
    console.log(formatCompare(run, base, res, opts));
    return res.regressions.length ? 1 : 0;
  }
  const margin = Object.keys(values).find((k) => values[k] !== undefined);
  if (margin) throw new UsageError(`--${margin}`, `--${margin}: applies to compare only; ${USAGE}`);
  if (cmd === 'index') {
    if (rest.length) throw new UsageError(rest[0]!, `${rest[0]}: unexpected argument after index`);
    console.log(writeIndex(reportsDir));
    return 0;
  }
  if (rest.length) throw new UsageError(rest[0]!, `${rest[0]}: unexpected argument; give one run (or index, or compare <run> <baseline>)`);
  const out = await writeRunReport(resolveRun(cmd));
  console.log(out);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof InputError) {
      console.error(`report: ${oneLine(err.message)}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(2);
  },
);
