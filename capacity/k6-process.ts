/**
 * One bench run of k6: spawned on a script of the bench's build folder, output to a log file, the load start
 * read from the `bench: load_start_ms=<epoch ms>` line the bench scripts print at the end of setup(), its pid
 * for /proc sampling. Bounded: SIGINT after `timeoutMs`, SIGKILL 10 s later.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface K6ProcessOptions {
  k6Path: string;
  script: string;
  /** Extra k6 arguments (e.g. `--out json=…`), before the script. */
  args?: string[];
  env: Record<string, string>;
  logPath: string;
  timeoutMs: number;
}

export interface K6Process {
  pid: number;
  /** Epoch ms of the load start, undefined when k6 ended before announcing it. */
  loadStart: Promise<number | undefined>;
  done: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>;
  stop(): void;
}

const LOAD_START = /\bbench: load_start_ms=(\d{10,16})\b/;

export function spawnK6(o: K6ProcessOptions): K6Process {
  const args = ['run', '--no-usage-report', '--address', '', ...(o.args ?? []), o.script];
  const child = spawn(o.k6Path, args, {
    env: { ...process.env, ...o.env, K6_NO_USAGE_REPORT: 'true', K6_NO_COLOR: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(o.logPath);
  log.write(`# k6 ${args.join(' ')}\n`);
  let announce!: (ms: number | undefined) => void;
  const loadStart = new Promise<number | undefined>((r) => (announce = r));
  const onLine = (line: string): void => {
    log.write(line + '\n');
    const m = LOAD_START.exec(line);
    if (m) announce(Number(m[1]));
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  let timedOut = false;
  const stop = (signal: NodeJS.Signals = 'SIGINT'): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop('SIGINT');
    setTimeout(() => stop('SIGKILL'), 10_000).unref();
  }, o.timeoutMs);
  const done = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve, reject) => {
    child.once('error', (err) => (clearTimeout(timer), announce(undefined), reject(err)));
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      announce(undefined);
      log.end(`# exit ${exitCode ?? signal}\n`, () => resolve({ exitCode, signal, timedOut }));
    });
  });
  return { pid: child.pid ?? -1, loadStart, done, stop: () => stop('SIGINT') };
}
