/**
 * Runs k6 on a bundled scenario, asynchronously, so a drill can inject faults while it runs.
 *
 * - The target and the login go to k6 through its process environment (never on the command line, where `ps`
 *   would show them); k6's output is saved to `<runDir>/k6.log` and echoed as progress lines, with every secret
 *   value replaced by `***`.
 * - Raw samples go to `<runDir>/k6-raw.json.gz` (`--out json=`; k6 gzips when the name ends in .gz), k6's
 *   summary data to `<runDir>/k6-summary.json` (SUMMARY_PATH, written by the scenario's handleSummary).
 * - Events: `spawn` ({pid, at}), `load-start` ({at}): the load start the scenario announces at the end of its
 *   setup() (`suite: ... load_start_ms=<epoch ms>`, the zero of FAULT_WINDOWS); for a script that does not
 *   announce one, the zero of k6's test-run clock (its `running (12.0s)` lines, setup included), from the first
 *   progress line; `line` (each redacted output line); `finish` (the result).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { redactUrls } from '../lib/loopback.js';
import { progress, type LogFn } from './log.js';

/** Trend statistics k6 puts in the summary data: every percentile the profiles' thresholds use, and more. */
export const SUMMARY_TREND_STATS = 'avg,min,med,max,p(50),p(90),p(95),p(99),p(99.9),count';

/** Seconds of k6's clock between two echoed `running (...)` lines. */
export const PROGRESS_EVERY_S = 5;
/** k6's per-scenario progress bar lines, e.g. `rest     ✓ [ 100% ] 00/04 VUs  5s  4.00 iters/s`, `Run [ 100% ] setup()`. */
const SCENARIO_BAR = /^\s*[\w-]+\s+(?:[✓✗]\s+)?\[\s*\d+%\s*\]/;

export const RAW_FILE = 'k6-raw.json.gz';
export const K6_LOG_FILE = 'k6.log';

/** k6 settings that make it print request and response bodies: never passed on from the environment. */
export const BODY_DUMPING_ENV = ['K6_HTTP_DEBUG'] as const;

/**
 * The Go garbage collector's target for k6 (`GOGC`) unless the environment sets one: a heap may grow to 5× its
 * live size (Go's default: 2×) before a collection. Measured with `npm run bench` on 2 cores (README, "How many
 * load generators"): the suite's REST rate +35 % (2,748 → 3,713 requests/s) and ~10 % less CPU per room socket,
 * for about twice the memory per socket (268 → 590 KiB); the sockets one process holds steadily stayed 1,000 in
 * the full bench run (a socket-only run held 2,000): Go's collector took 16–25 % of k6's CPU in a profile.
 */
export const K6_GOGC = '400';

/** `{ GOGC: K6_GOGC }` unless `env` sets GOGC (then nothing: the user's value stands). */
export function k6GcTarget(env: NodeJS.ProcessEnv): { GOGC?: string } {
  return env.GOGC === undefined ? { GOGC: K6_GOGC } : {};
}

/**
 * k6's environment: the process environment and the run's own variables, without the body-dumping settings;
 * GOGC is K6_GOGC unless the environment sets it.
 */
export function k6ChildEnv(base: NodeJS.ProcessEnv, own: Record<string, string>): { env: NodeJS.ProcessEnv; dropped: string[] } {
  const env: NodeJS.ProcessEnv = { ...k6GcTarget({ ...base, ...own }), ...base, ...own };
  const dropped = BODY_DUMPING_ENV.filter((k) => env[k] !== undefined);
  for (const k of dropped) delete env[k];
  return { env, dropped };
}
export const K6_SUMMARY_FILE = 'k6-summary.json';

export interface K6RunOptions {
  k6Path: string;
  /** The bundled scenario, e.g. dist/smoke.js. */
  script: string;
  runDir: string;
  /** The k6 environment (CHAT_URL, ..., PROFILE, RUN_ID, FAULT_WINDOWS); SUMMARY_PATH is set here. */
  env: Record<string, string>;
  /** Values never to show (default: the values of LOGIN_PASSWORD and LOGIN_EMAIL in env). */
  secrets?: string[];
  extraArgs?: string[];
  /** Where progress lines go; default stderr with a timestamp. */
  log?: LogFn;
  /** Echo k6's own output lines through `log` (default true). */
  echo?: boolean;
  /** Stop k6 (SIGINT, then SIGKILL 10 s later) when it runs longer than this. */
  timeoutMs?: number;
}

export interface K6RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the timeout stopped k6. */
  timedOut: boolean;
  spawnedAt: Date;
  loadStartedAt?: Date;
  finishedAt: Date;
  /** Spawn to exit. */
  durationMs: number;
  paths: { raw: string; log: string; summary: string };
}

/**
 * Replaces every occurrence of each secret (and its URL-encoded form) with `***`, and so any token k6 might
 * echo: credentials in any URL (`scheme://user:pw@` → `scheme://***@`), JWTs (e.g. in a WebSocket URL k6 prints on a failed connect), `access_token=` values and bearer headers.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 3) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return redactUrls(out)
    .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '***')
    .replace(/\b(access_token=)[^&\s"'\\:,;]+/gi, '$1***')
    .replace(/\b(bearer )[^\s"'\\]+/gi, '$1***');
}

/**
 * The load start the scenario announces at the end of setup() (lib/setup.ts logs
 * `suite: run_id=... load_start_ms=<epoch ms>`, the zero of FAULT_WINDOWS), or undefined.
 */
export function parseLoadStartMs(line: string): number | undefined {
  const m = /\bsuite: .*\bload_start_ms=(\d{10,16})\b/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** `running (01m02.5s), 10/10 VUs, ...` → 62.5 seconds. */
export function parseRunningClock(line: string): number | undefined {
  const m = /^running \((?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s\)/.exec(line.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
}

export class K6Run extends EventEmitter {
  readonly done: Promise<K6RunResult>;
  /** Resolves at the first progress line (see the module doc); rejects if k6 ends before one. */
  readonly loadStarted: Promise<Date>;
  readonly paths: K6RunResult['paths'];
  private child: ChildProcess | undefined;

  constructor(private readonly opts: K6RunOptions) {
    super();
    this.paths = {
      raw: join(opts.runDir, RAW_FILE),
      log: join(opts.runDir, K6_LOG_FILE),
      summary: join(opts.runDir, K6_SUMMARY_FILE),
    };
    let resolveStart!: (d: Date) => void;
    let rejectStart!: (e: Error) => void;
    this.loadStarted = new Promise<Date>((res, rej) => ((resolveStart = res), (rejectStart = rej)));
    this.loadStarted.catch(() => {}); // callers that never await it must not see an unhandled rejection
    this.done = this.start(resolveStart, rejectStart);
    this.done.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Asks k6 to stop (SIGINT: it ends the test and still writes its summary). One SIGINT only: a second would make
   * k6 abort without its summary, so a repeated stop('SIGINT') is ignored; SIGKILL still goes through.
   */
  stop(signal: NodeJS.Signals = 'SIGINT'): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (signal === 'SIGINT') {
      if (this.interruptSent) return;
      this.interruptSent = true;
    }
    this.child.kill(signal);
  }
  private interruptSent = false;

  private async start(resolveStart: (d: Date) => void, rejectStart: (e: Error) => void): Promise<K6RunResult> {
    const { opts, paths } = this;
    const log = opts.log ?? progress('k6');
    const secrets = opts.secrets ?? [opts.env.LOGIN_PASSWORD, opts.env.LOGIN_EMAIL, opts.env.USERS, ...usersSecrets(opts.env.USERS)].filter((s): s is string => !!s);
    const args = [
      'run',
      '--no-usage-report',
      '--address', '', // no REST API server: parallel runs would fight over its port
      '--summary-trend-stats', SUMMARY_TREND_STATS,
      '--out', `json=${paths.raw}`,
      ...(opts.extraArgs ?? []),
      opts.script,
    ];
    const logFile = createWriteStream(paths.log);
    logFile.write(`# k6 ${args.join(' ')}\n`);
    const spawnedAt = new Date();
    // k6 runs in a process group of its own: Ctrl-C in a terminal signals the whole foreground group, and k6
    // aborts WITHOUT its summary on a second SIGINT. So the terminal's signal reaches the runner only, which
    // passes exactly one on (stop()); k6 ends the test, runs handleSummary and flushes its raw output.
    const { env: childEnv, dropped } = k6ChildEnv(process.env, { ...opts.env, SUMMARY_PATH: paths.summary, K6_NO_USAGE_REPORT: 'true', K6_NO_COLOR: 'true' });
    for (const d of dropped) log(`${d} ignored: k6 would write request and response bodies (tokens, the tenants list's secret keys) to its output`);
    const child = spawn(opts.k6Path, args, {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    let loadStartedAt: Date | undefined;
    let bannerDone = false;
    // Compact progress: k6 prints its progress block every second; echo the `running (...)` line every
    // PROGRESS_EVERY_S seconds of its clock and no per-scenario bars (k6.log keeps them all).
    let lastEchoedClock = -Infinity;
    const echoLine = (line: string): boolean => {
      if (SCENARIO_BAR.test(line)) return false;
      const clock = parseRunningClock(line);
      if (clock === undefined) return true;
      if (clock - lastEchoedClock < PROGRESS_EVERY_S) return false;
      lastEchoedClock = clock;
      return true;
    };
    const onLine = (raw: string) => {
      const line = redact(raw, secrets);
      logFile.write(line + '\n');
      const announced = parseLoadStartMs(line);
      const clock = announced === undefined && !loadStartedAt ? parseRunningClock(line) : undefined;
      if (announced !== undefined || clock !== undefined) {
        const first = !loadStartedAt;
        loadStartedAt = announced !== undefined ? new Date(announced) : new Date(Date.now() - clock! * 1000);
        if (first) {
          resolveStart(loadStartedAt);
          this.emit('load-start', { at: loadStartedAt });
        }
      }
      this.emit('line', line);
      if (/^\s*execution:/.test(line)) bannerDone = true; // k6's logo comes before this line
      if ((opts.echo ?? true) && bannerDone && line.trim() && echoLine(line)) log(line.trimEnd());
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);

    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            log(`k6 ran longer than ${opts.timeoutMs} ms: stopping it`);
            this.stop('SIGINT');
            setTimeout(() => this.stop('SIGKILL'), 10_000).unref();
          }, opts.timeoutMs);

    const result = await new Promise<K6RunResult>((resolve, reject) => {
      child.on('error', (err) => {
        clearTimeout(timer);
        logFile.end();
        rejectStart(err);
        reject(err);
      });
      child.on('spawn', () => this.emit('spawn', { pid: child.pid, at: spawnedAt }));
      child.on('close', (exitCode, signal) => {
        clearTimeout(timer);
        const finishedAt = new Date();
        logFile.end(`# exit ${exitCode ?? signal}\n`);
        if (!loadStartedAt) rejectStart(new Error(`k6 ended (exit ${exitCode ?? signal}) before the load started`));
        resolve({ exitCode, signal, timedOut, spawnedAt, loadStartedAt, finishedAt, durationMs: finishedAt.getTime() - spawnedAt.getTime(), paths });
      });
    });
    await new Promise<void>((r) => logFile.once('close', () => r()).once('error', () => r()));
    this.emit('finish', result);
    return result;
  }
}

/** Starts k6; await `.done` for the result, listen for `load-start` / `finish`, `.stop()` to end it early. */
export function startK6(opts: K6RunOptions): K6Run {
  return new K6Run(opts);
}

export function runK6(opts: K6RunOptions): Promise<K6RunResult> {
  return startK6(opts).done;
}

/** k6's exit codes that still mean "the test ran to its end and k6 judged it": 0 and 99 (thresholds crossed). */
/** The e-mails and passwords inside a USERS value (never shown in k6's output). */
function usersSecrets(raw: string | undefined): string[] {
  if (!raw) return [];
  try {
    return (JSON.parse(raw) as { email?: string; password?: string }[]).flatMap((u) => [u.email ?? '', u.password ?? '']);
  } catch {
    return [];
  }
}

export function k6RanToVerdict(exitCode: number | null): boolean {
  return exitCode === 0 || exitCode === 99;
}
