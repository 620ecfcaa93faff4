/**
 * `npm run bench` options, parsed once at the edge (node:util parseArgs, then zod) before anything starts. Every
 * bad input is a UsageError: one line naming the option and what is allowed (exit 2, nothing started or sent).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDurationS } from '../lib/duration.js';
import { UsageError } from '../runner/usage-error.js';
import { helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from '../runner/cli-flags.js';

export { UsageError };

export const DEFAULT_RESULTS_FILE = 'bench/results.json';

export const BENCH_COMMAND: CommandSpec = {
  invocation: 'npm run bench --',
  usage: [`[--duration 20s] [--max-sockets 16000] [--out ${DEFAULT_RESULTS_FILE}] [--only rest|sockets]`],
  about: `The load generator's capacity on this machine, with the pinned k6 and the suite's bundled scenarios, against a
loopback endpoint the bench starts (capacity/README.md):
  rest     the suite's REST scenario vs the same requests written by hand vs a minimal k6 script vs wrk:
           requests/s, k6 CPU (same VUs and duration), suite / hand-written
  sockets  the most room sockets one k6 process holds with steady delivery (steps 1000, 2000, 4000, …), memory
           and CPU per socket: the suite, the same work by hand, a minimal non-k6 client; suite / hand-written
Prints the figures and writes them to --out (JSON, with capacity.socketsPerRunner and restIterationsPerS for
npm run load -- plan --bench <file>). Takes a few minutes; run it alone (heavy-run lock).`,
  flags: [
    { name: 'duration', type: 'string', value: '<duration>', help: 'each REST run, 2s to 120s, and each socket step (its sessions last this, at least 20 s and at most 60 s)', default: '20s' },
    { name: 'max-sockets', type: 'string', value: '<n>', help: 'largest socket step: 50 to 200000 (also capped by the open-files limit)', default: '16000' },
    { name: 'out', type: 'string', value: '<file>', help: 'the results file', default: DEFAULT_RESULTS_FILE },
    { name: 'only', type: 'string', value: '<part>', help: 'run one part: rest or sockets', default: 'both' },
    HELP_FLAG,
  ],
  exitCodes: [[0, 'measured'], [1, 'a measurement failed'], [2, 'bad usage (nothing started)'], [130, 'interrupted by SIGINT'], [143, 'interrupted by SIGTERM']],
  examples: ['npm run bench', 'npm run bench -- --only sockets --max-sockets 4000', 'npm run bench -- --duration 10s --out /tmp/bench.json'],
};

export const BENCH_USAGE = helpText(BENCH_COMMAND);

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
  const values = parseCommandLine(BENCH_COMMAND, argv).values as Record<string, string | boolean | undefined>;
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
