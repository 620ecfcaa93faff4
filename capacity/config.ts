/**
 * `npm run bench` options, parsed once at the edge (node:util parseArgs, then zod) before anything starts. Every
 * bad input is a UsageError: one line naming the option and what is allowed (exit 2, nothing started or sent).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDurationS } from '../lib/duration.js';
import { UsageError } from '../runner/smoke-config.js';

export { UsageError };

export const DEFAULT_RESULTS_FILE = 'bench/results.json';

export const BENCH_USAGE = `usage: npm run bench [-- --duration 20s] [--max-sockets 16000] [--out ${DEFAULT_RESULTS_FILE}] [--only rest|sockets]

The load generator's capacity on this machine, with the pinned k6 and the suite's bundled scenarios, against a
loopback endpoint the bench starts (capacity/README.md):
  rest     the suite's REST scenario vs a minimal k6 script vs wrk: requests/s, k6 CPU (same VUs and duration)
  sockets  the most room sockets one k6 process holds with steady delivery (steps 250, 500, 1000, …), memory
           and CPU per socket
Prints the figures and writes them to --out (JSON, with capacity.socketsPerRunner and restIterationsPerS for
npm run load -- plan --bench <file>). Takes a few minutes; run it alone (heavy-run lock).
  --duration     each REST run and each socket step (a step lasts at least 10 s): 2s to 120s, default 20s
  --max-sockets  largest socket step: 50 to 200000, default 16000 (also capped by the open-files limit)
  --out          the results file, default ${DEFAULT_RESULTS_FILE}
  --only         run one part: rest or sockets (default both)
Exit codes: 0 measured, 1 a measurement failed, 2 bad usage (nothing started).`;

export interface BenchOptions {
  durationS: number;
  maxSockets: number;
  out: string;
  parts: { rest: boolean; sockets: boolean };
}

const ALLOWED = {
  duration: 'a duration from 2s to 120s such as 20s, 1m or plain seconds',
  'max-sockets': 'a whole number from 50 to 200000',
  out: 'a file path',
  only: 'rest or sockets',
} as const;

const Raw = z.object({
  duration: z
    .string()
    .default('20s')
    .transform((s, ctx) => {
      const d = parseDurationS(s);
      if (d === undefined || d < 2 || d > 120) ctx.addIssue({ code: 'custom', message: ALLOWED.duration });
      return d ?? 0;
    }),
  'max-sockets': z
    .string()
    .regex(/^\d{1,6}$/, ALLOWED['max-sockets'])
    .default('16000')
    .transform(Number)
    .pipe(z.number().int().min(50, ALLOWED['max-sockets']).max(200_000, ALLOWED['max-sockets'])),
  out: z.string().min(1, ALLOWED.out).default(DEFAULT_RESULTS_FILE),
  only: z.enum(['rest', 'sockets'], ALLOWED.only).optional(),
});

/** `help` when --help was asked for; the options otherwise. Throws UsageError on bad input. */
export function parseBenchArgs(argv: readonly string[], cwd = process.cwd()): { help: true } | { help: false; options: BenchOptions } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: { duration: { type: 'string' }, 'max-sockets': { type: 'string' }, out: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!.replace(/\.$/, '');
    throw new UsageError('argv', `${msg}; allowed: --duration, --max-sockets, --out, --only, --help`);
  }
  if (values.help) return { help: true };
  const r = Raw.safeParse(values);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0] ?? 'argv') as keyof typeof ALLOWED;
    const given = values[name];
    throw new UsageError(`--${name}`, `--${name}: ${ALLOWED[name] ?? issue.message}; got ${JSON.stringify(given)}`);
  }
  const v = r.data;
  return {
    help: false,
    options: {
      durationS: v.duration,
      maxSockets: v['max-sockets'],
      out: resolve(cwd, v.out),
      parts: { rest: v.only !== 'sockets', sockets: v.only !== 'rest' },
    },
  };
}
