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
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildModel, InputError, readModel, writeIndex, writeRunReport } from './index.js';
import { CompareOptions, compareModels, formatCompare } from './compare.js';

const reportsDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'reports');

class UsageError extends Error {}

const USAGE = 'usage: npm run report -- <run-dir> | index | compare <run> <baseline> [--p95-margin PCT] [--p95-min-ms MS] [--error-margin PP] [--error-margin-pct PCT] [--min-samples N]';

/** A run given as a directory path, or as a run id / `latest` under reports/. */
function resolveRun(arg: string): string {
  for (const p of [resolve(arg), join(reportsDir, arg)]) if (existsSync(p)) return p;
  throw new UsageError(`run not found: ${arg} (give a run directory or a run id under reports/)`);
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
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'p95-margin': { type: 'string' },
        'error-margin': { type: 'string' },
        'error-margin-pct': { type: 'string' },
        'p95-min-ms': { type: 'string' },
        'min-samples': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const { positionals, values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [cmd, ...rest] = positionals;
  if (cmd === undefined) throw new UsageError(USAGE);
  if (cmd === 'compare') {
    if (rest.length !== 2) throw new UsageError(`compare needs two runs: <run> <baseline>; ${USAGE}`);
    const flags = CompareFlags.safeParse(values);
    if (!flags.success) throw new UsageError(flags.error.issues[0]!.message);
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
      if (m.headline.reqs === 0) throw new UsageError(`${name} ${m.runId} has no HTTP requests to compare`);
    }
    const res = compareModels(run, base, opts);
    console.log(formatCompare(run, base, res, opts));
    return res.regressions.length ? 1 : 0;
  }
  if (Object.values(values).some((v) => v !== undefined)) throw new UsageError(`margins apply to compare only; ${USAGE}`);
  if (cmd === 'index') {
    if (rest.length) throw new UsageError(USAGE);
    console.log(writeIndex(reportsDir));
    return 0;
  }
  if (rest.length) throw new UsageError(USAGE);
  const out = await writeRunReport(resolveRun(cmd));
  console.log(out);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof InputError) {
      console.error(`report: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(2);
  },
);
