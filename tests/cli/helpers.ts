/**
 * Running the suite's CLIs as a user would, and watching that a refusal starts and contacts nothing: every child
 * process inherits a marker variable, so any process a CLI started (k6, PostgreSQL, a node, a build) is seen in
 * /proc; a TCP listener of the test's own stands for the target, so any connection to it is counted.
 *
 * A CLI that does not exit within its time limit is killed with its whole process group (it runs as a group
 * leader), and so is every marked process still alive after it: a case that wrongly starts something fails,
 * it never hangs the test or leaves a process behind.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { REPO } from '../chaos/helpers.js';

export const CLIS = {
  smoke: 'runner/cli/smoke.ts',
  drill: 'chaos/cli/drill.ts',
  chaos: 'chaos/cli/chaos.ts',
  load: 'split/cli.ts',
  report: 'report/cli.ts',
  bench: 'capacity/cli.ts',
  stack: 'reference-target/launcher/cli.ts',
} as const;
export type CliName = keyof typeof CLIS;

/** A listener on 127.0.0.1 that counts the connections made to it. */
export async function countingListener(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((s) => {
    n += 1;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, connections: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

/** Pids that existed before the test: no CLI of it can have started them, so they are never read again. */
const before = new Set(readdirSync('/proc').filter((d) => /^\d+$/.test(d)));
/** New pids already read and found without the marker (the environment of a process is fixed at its exec). */
const unmarked = new Set<string>();

/**
 * Live processes whose environment holds `marker` (BAD_INPUT_MARKER=<id>, one per run), as `pid command line`; tsx's own
 * esbuild service (the TypeScript loader of every CLI, not something the CLI started) left out.
 */
export function markedPids(marker: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || before.has(d) || unmarked.has(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'utf8');
      if (env === '') continue; // a zombie or a process still being forked: read it again next time
      if (!env.split('\0').includes(marker)) {
        unmarked.add(d);
        continue;
      }
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      // an empty command line: the process exited between the two reads (a zombie now: tsx's esbuild service
      // ending with the CLI, say); a process the CLI started and that lives is read whole on another poll
      if (cmd === '') continue;
      if (/\/esbuild\b.* --service=/.test(cmd)) continue;
      out.push(`${d} ${cmd}`);
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The CLI did not exit within the limit and was killed (with its process group). */
  timedOut: boolean;
  /** Processes other than the CLI itself (and its tsx loader) seen while it ran, and after it exited. */
  children: string[];
  leftOver: string[];
}

const pidOf = (line: string) => Number(line.split(' ')[0]);

/**
 * Runs a CLI with `args` and `env` (over process.env), stdin closed, polling /proc for processes it starts.
 * After `limitMs` the CLI's process group is killed; marked processes left after it exits are killed too.
 */
export function runCli(cli: CliName, args: string[], env: Record<string, string>, limitMs = 30_000): Promise<CliRun> {
  // a marker of this run's own: runs side by side never see (or kill) each other's processes
  const id = randomUUID();
  const marker = `BAD_INPUT_MARKER=${id}`;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CLIS[cli], ...args], {
      cwd: REPO,
      env: { ...process.env, ...env, BAD_INPUT_MARKER: id },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const seen = new Set<string>();
    // the CLI itself, and a process it forked that has not exec'd yet (its command line is still the CLI's: tsx
    // starting its esbuild service, caught between fork and exec); what it then execs is seen on the next poll
    const selfCmd = [process.execPath, '--import', 'tsx', CLIS[cli], ...args].join(' ').trim();
    const notSelf = (p: string) => pidOf(p) !== child.pid && p.slice(p.indexOf(' ') + 1) !== selfCmd;
    const poll = setInterval(() => {
      for (const p of markedPids(marker)) if (notSelf(p)) seen.add(p);
    }, 25);
    const limit = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, limitMs);
    // on 'exit' (a process the CLI wrongly left running may hold its stdout open, so 'close' may never come),
    // then its output once its pipes close, or after 500 ms
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(limit);
      const ms = Date.now() - t0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        const leftOver = markedPids(marker).filter(notSelf);
        for (const p of leftOver) {
          try {
            process.kill(pidOf(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, stdout, stderr, ms, timedOut, children: [...seen], leftOver });
      };
      const wait = setTimeout(finish, 500);
      child.on('close', () => {
        clearTimeout(wait);
        finish();
      });
    });
  });
}

/** Runs `jobs` with at most `n` at a time (two shared cores: a few CLIs at once, not all). */
export async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}
