/**
 * Running the suite's CLIs as a user would, and watching that a refusal starts and contacts nothing: every child
 * process inherits a marker variable, so any process a CLI started (k6, PostgreSQL, a node, a build) is seen in
 * /proc; a TCP listener of the test's own stands for the target, so any connection to it is counted.
 */
import { spawn } from 'node:child_process';
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

/**
 * Live processes whose environment holds `marker` (BAD_INPUT_MARKER=<id>), as `pid command line`; tsx's own
 * esbuild service (the TypeScript loader of every CLI, not something the CLI started) left out.
 */
export function markedPids(marker: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(marker)) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (/\/esbuild\b.* --service=/.test(cmd)) continue;
      out.push(`${d} ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Processes other than the CLI itself (and its tsx loader) seen while it ran, and after it exited. */
  children: string[];
  leftOver: string[];
}

/** Runs a CLI with `args` and `env` (over process.env), polling /proc for processes it starts. */
export function runCli(cli: CliName, args: string[], env: Record<string, string>, marker: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CLIS[cli], ...args], { cwd: REPO, env: { ...process.env, ...env, BAD_INPUT_MARKER: marker.split('=')[1]! } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const seen = new Set<string>();
    const notSelf = (p: string) => !p.startsWith(`${child.pid} `);
    const poll = setInterval(() => {
      for (const p of markedPids(marker)) if (notSelf(p)) seen.add(p);
    }, 25);
    child.on('close', (code) => {
      clearInterval(poll);
      const ms = Date.now() - t0;
      resolve({ code, stdout, stderr, ms, children: [...seen], leftOver: markedPids(marker).filter(notSelf) });
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
