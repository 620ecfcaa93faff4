/** Real child processes for the chaos tests: small HTTP nodes, probes, and cleanup of everything spawned. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../chaos/toxiproxy/server.js';
import { processTree, readStat } from '../../chaos/drivers/proc.js';
import { TargetFile } from '../../runner/target-file.js';
import type { DrillReport } from '../../chaos/drill/report.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const started = new Set<number>();

/**
 * SLO overrides (the SLO setting's `phases`) that widen every phase's latency limits to `ms`: for tests of healthy
 * drills on this 2-core machine, where the load alone holds the reference stack near the default limits.
 */
export function widePhaseLatency(ms: number): Record<'baseline' | 'fault' | 'recovery', { httpP95Ms: number; storeP95Ms: number; wsDeliveryP95Ms: number }> {
  const limits = { httpP95Ms: ms, storeP95Ms: ms, wsDeliveryP95Ms: ms };
  return { baseline: limits, fault: limits, recovery: limits };
}

export function tempDir(prefix = 'chaos-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface HttpNode {
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
}

/** Starts fixtures/http-node.mjs on a free port; `wrapped` starts it under `sh -c` so the server is a child. */
export async function startHttpNode(opts: { wrapped?: boolean; port?: number } = {}): Promise<HttpNode> {
  const port = opts.port ?? (await freePort());
  const script = join(FIXTURES, 'http-node.mjs');
  const child = opts.wrapped
    ? spawn('sh', ['-c', `${process.execPath} ${script}; echo exited`], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' })
    : spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  track(child.pid!);
  const deadline = Date.now() + 10_000;
  while ((await probe(url, 300)) !== 'ok') {
    if (Date.now() > deadline) throw new Error(`test node on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, port, url, child };
}

export function track(pid: number): void {
  started.add(pid);
}

/**
 * 'ok' on any HTTP answer, 'timeout' when none within ms, else the error code (ECONNREFUSED, ECONNRESET, ...).
 * Always a fresh connection (no keep-alive pool), so a fault that acts on new connections is seen as it is.
 */
export function probe(url: string, ms = 500): Promise<'ok' | 'timeout' | string> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, timeout: ms }, (res) => {
      res.resume();
      res.on('end', () => resolve('ok'));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

export function procState(pid: number): string {
  return readStat(pid)?.state ?? 'gone';
}

/** SIGCONT then SIGKILL everything the tests started (and any pid passed, e.g. restarted nodes). */
export function killAll(extra: number[] = []): void {
  const pids = [...started, ...extra].flatMap((p) => [p, ...processTree(p).map((s) => s.pid)]);
  for (const pid of pids) {
    for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  }
  started.clear();
}

/** A target file for pure tests (nothing listens at its URLs): dbman nodes and chat instances by name. */
export function paperTarget(parts: { dbman: string[]; chat?: string[] }): TargetFile {
  const u = 'http://127.0.0.1:1';
  let pid = 10;
  const component = (name: string) => ({ name, url: u, faults: { pid: pid++ } });
  return TargetFile.parse({
    version: 1,
    name: 'paper',
    chatUrl: u,
    authUrl: u,
    wsUrl: 'ws://127.0.0.1:1/ws',
    tenantId: 't',
    login: { email: 'a', password: 'b' },
    dbmanNodes: parts.dbman.map(component),
    chatInstances: (parts.chat ?? []).map(component),
  });
}

/** What `npm run drill` did: exit code, output, and its drill.json (from the `run: <id>` line) when it wrote one. */
export interface DrillRan {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: DrillReport & Record<string, unknown>;
}

/**
 * Runs the drill CLI (`chaos/cli/drill.ts --ledger <ledgerPath> ...args`) as a child process, TARGET_FLAWS cleared
 * unless `env` sets it; `onErr` sees the stderr so far after every chunk (to act when a fault is injected).
 */
export function runDrillCli(ledgerPath: string, args: string[], env: Record<string, string> = {}, onErr?: (all: string) => void): Promise<DrillRan> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/cli/drill.ts', '--ledger', ledgerPath, ...args], {
      cwd: REPO,
      env: { ...process.env, TARGET_FLAWS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onErr?.(stderr);
    });
    child.on('close', (code) => {
      const m = /^run: (\S+)/m.exec(stdout);
      const report = m ? (JSON.parse(readFileSync(join(REPO, 'reports', m[1]!, 'drill.json'), 'utf8')) as DrillRan['report']) : undefined;
      resolve({ code, stdout, stderr, report });
    });
  });
}

/**
 * Reference stacks (one per flaw list) started at once, so a file with a flawed and a healthy drill waits for one
 * start instead of two. They start when a test first awaits `ready` (not when the file loads: with every test of
 * the file skipped by -t, vitest runs no hook, and stacks started meanwhile would be left running). `stop(i)` stops
 * stack i once its start has settled (e.g. right after its drill, so the next drill runs with no other stack up);
 * `stopAll` every one still up (afterAll).
 */
export function stacksAtOnce(dir: string, flawLists: string[][]): { readonly ready: Promise<RunningStack[]>; stop(i: number): Promise<void>; stopAll(): Promise<void> } {
  const paths = flawLists.map((_, i) => join(dir, `stack-${i}.json`));
  const up = new Set<number>();
  let starts: Promise<RunningStack>[] | undefined;
  let ready: Promise<RunningStack[]> | undefined;
  const stop = async (i: number) => {
    if (!up.delete(i)) return;
    await starts![i]!.catch(() => undefined);
    await stopStack(paths[i]!).catch(() => undefined);
  };
  return {
    get ready() {
      if (!ready) {
        starts = flawLists.map((flaws, i) => (up.add(i), startStack({ targetFilePath: paths[i]!, flaws })));
        ready = Promise.all(starts);
        ready.catch(() => undefined);
      }
      return ready;
    },
    stop,
    stopAll: async () => void (await Promise.all([...up].map(stop))),
  };
}
