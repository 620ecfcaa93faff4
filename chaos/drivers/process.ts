/**
 * The process driver: faults on a local process by signal, for nodes the suite started or that a target file
 * names by pid (`faults.pid`).
 *
 *   stop     SIGTERM to the process tree, wait for it to exit   heal: start it again from the recorded command
 *   kill     SIGKILL to the process tree                         heal: start it again from the recorded command
 *   pause    SIGSTOP to the process tree (a frozen node)         heal: SIGCONT to the same processes
 *   restart  SIGTERM, wait, start again at once                  heal: make sure it runs (start it if not)
 *
 * "The process tree" is the pid and its descendants: a node started through a wrapper (tsx, a shell) has its
 * server in a child, and freezing only the wrapper would freeze nothing that serves.
 *
 * To start a node again, prepare() records its command line, environment and working directory from
 * /proc/<pid>/{cmdline,environ,cwd} into the handle, which the ledger keeps before the fault is applied.
 * A restarted node runs detached (its own session), output to a log file beside the ledger.
 * Heal is idempotent: a process still alive is only sent SIGCONT; a node whose URL already answers
 * (restarted by someone else, e.g. a supervisor) is left alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Component } from '../../runner/target-file.js';
import type { FaultKind, FaultStep } from '../faults.js';
import { PROCESS_FAULTS } from '../faults.js';
import type { FaultDriver, HealOutcome } from './driver.js';
import { FaultUsageError } from './driver.js';
import type { ProcessHandle } from '../handles.js';
import { liveStat, processTree, readCmdline, readCwd, readEnviron, readIds, readStat, type ProcRef } from './proc.js';
import { connectionRefusal, guardedFetch } from '../../runner/connections.js';
import { connect } from 'node:net';

export type { ProcessHandle };

export interface ProcessDriverOptions {
  /** Folder for restarted nodes' logs (default .state/chaos-logs). */
  logDir?: string;
  /** How long heal waits for a restarted node to answer on its URL (ms). */
  startWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a recorded argv[0] names a program that exists: a path (absolute or from the cwd) or a name on PATH. */
function startable(cmd: string | undefined, cwd: string): boolean {
  if (!cmd) return false;
  if (cmd.includes('/')) return existsSync(isAbsolute(cmd) ? cmd : join(cwd, cmd));
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

function signal(ref: ProcRef, sig: NodeJS.Signals): boolean {
  if (!liveStat(ref)) return false;
  try {
    process.kill(ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** True when a TCP connection to the URL's host and port is accepted (redis://, postgres://: no HTTP to ask). */
function acceptsTcp(url: string, timeoutMs: number): Promise<boolean> {
  // the loopback rule at contact time (runner/connections.ts): a refused URL is not contacted, it does not answer
  if (connectionRefusal(url, ['redis', 'rediss', 'postgres', 'postgresql', 'tcp']) !== undefined) return Promise.resolve(false);
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * True when the process at the URL is up and listening: anything answers HTTP (any status), or, for a URL that
 * is not http(s) (Redis, PostgreSQL), a TCP connection is accepted.
 */
export async function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  if (!/^https?:/.test(url)) return acceptsTcp(url, timeoutMs);
  try {
    const res = await guardedFetch(new URL('/health/live', url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function waitGone(refs: ProcRef[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (refs.every((r) => !liveStat(r))) return true;
    await sleep(50);
  }
  return refs.every((r) => !liveStat(r));
}

/** Waits until every live process of `refs` is in state T (stopped); processes that are gone do not count. */
async function waitStopped(refs: ProcRef[], ms: number): Promise<boolean> {
  const stopped = () => refs.every((r) => {
    const st = liveStat(r);
    return !st || st.state === 'T';
  });
  const deadline = Date.now() + ms;
  while (!stopped() && Date.now() < deadline) await sleep(10);
  return stopped();
}

export class ProcessDriver implements FaultDriver<ProcessHandle> {
  readonly name = 'process' as const;
  readonly kinds = PROCESS_FAULTS;
  private readonly logDir: string;
  private readonly startWaitMs: number;

  constructor(opts: ProcessDriverOptions = {}) {
    this.logDir = opts.logDir ?? '.state/chaos-logs';
    this.startWaitMs = opts.startWaitMs ?? 20_000;
  }

  reaches(node: Component): boolean {
    return node.faults?.pid !== undefined;
  }

  async prepare(step: FaultStep, node: Component): Promise<ProcessHandle> {
    const pid = node.faults?.pid;
    if (pid === undefined) throw new FaultUsageError(`node ${node.name}: target file gives no faults.pid`);
    const tree = processTree(pid);
    if (tree.length === 0) throw new FaultUsageError(`node ${node.name}: pid ${pid} is not running`);
    const cmdline = readCmdline(pid);
    if (step.fault !== 'pause' && !startable(cmdline[0], readCwd(pid))) {
      // e.g. a redis-server that rewrote its process title: the recorded command line cannot start it again
      throw new FaultUsageError(`node ${node.name}: cannot start pid ${pid} again from its command line (${JSON.stringify(cmdline.join(' ').slice(0, 80))}: no such program; a process that rewrites its title, such as redis-server without set-proc-title no, loses it)`);
    }
    return {
      node: node.name,
      url: node.url,
      root: { pid, startTime: tree[0]!.startTime },
      tree: tree.map((s) => ({ pid: s.pid, startTime: s.startTime })),
      cmdline,
      env: readEnviron(pid),
      cwd: readCwd(pid),
      logDir: this.logDir,
      exitWaitMs: step.params.exitWaitMs,
      ...readIds(pid),
    };
  }

  async inject(kind: FaultKind, h: ProcessHandle): Promise<void | { newPid?: number }> {
    switch (kind) {
      case 'pause':
        // Parents first, so a wrapper cannot react to its child stopping.
        for (const ref of h.tree) signal(ref, 'SIGSTOP');
        // SIGSTOP is delivered asynchronously: the fault counts as injected once the kernel shows it stopped.
        if (!(await waitStopped(h.tree, 2000))) {
          throw new Error(`${h.node}: pid ${h.root.pid} not stopped 2000 ms after SIGSTOP`);
        }
        return;
      case 'kill':
        for (const ref of h.tree) signal(ref, 'SIGKILL');
        await waitGone(h.tree, h.exitWaitMs);
        return;
      case 'stop':
      case 'restart': {
        for (const ref of h.tree) signal(ref, 'SIGTERM');
        if (!(await waitGone(h.tree, h.exitWaitMs))) {
          throw new Error(`${h.node}: pid ${h.root.pid} still runs ${h.exitWaitMs} ms after SIGTERM`);
        }
        if (kind === 'restart') return { newPid: await this.start(h) };
        return;
      }
      default:
        throw new FaultUsageError(`process driver: no fault ${kind}`);
    }
  }

  async heal(kind: FaultKind, h: ProcessHandle): Promise<HealOutcome> {
    if (kind === 'pause') {
      const resumed = h.tree.filter((ref) => signal(ref, 'SIGCONT')).map((r) => r.pid);
      return { detail: resumed.length ? `SIGCONT ${resumed.join(',')}` : 'nothing paused left (processes gone)' };
    }
    // stop / kill / restart: the node must run again.
    const alive = h.tree.filter((ref) => liveStat(ref));
    if (alive.some((r) => r.pid === h.root.pid)) {
      for (const ref of alive) signal(ref, 'SIGCONT');
      return { detail: `pid ${h.root.pid} still runs` };
    }
    if (await answers(h.url)) return { detail: `${h.url} already answers (${kind === 'restart' ? 'started again by the restart' : 'started by someone else'})` };
    const pid = await this.start(h);
    return { detail: `started again as pid ${pid}`, newPid: pid };
  }

  async inspect(kind: FaultKind, h: ProcessHandle): Promise<string> {
    const states = h.tree.map((ref) => `${ref.pid}:${liveStat(ref)?.state ?? 'gone'}`).join(' ');
    if (kind === 'pause') return `processes ${states}`;
    return `processes ${states}; ${h.url} ${(await answers(h.url)) ? 'answers' : 'does not answer'}`;
  }

  /** Starts the node from its recorded command line; resolves with the new pid once its URL answers. */
  private async start(h: ProcessHandle): Promise<number> {
    mkdirSync(h.logDir, { recursive: true });
    const log = join(h.logDir, `${h.node}-${Date.now()}.log`);
    const fd = openSync(log, 'a');
    const [cmd, ...args] = h.cmdline;
    if (!cmd) throw new Error(`${h.node}: no recorded command line`);
    // as root, start it as the user it ran as (PostgreSQL refuses to run as root)
    const asUser = process.getuid?.() === 0 && h.uid !== undefined && h.uid !== 0 ? { uid: h.uid, gid: h.gid } : {};
    const child = spawn(cmd, args, { cwd: h.cwd, env: h.env, detached: true, stdio: ['ignore', fd, fd], ...asUser });
    closeSync(fd);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    child.unref();
    const deadline = Date.now() + this.startWaitMs;
    while (Date.now() < deadline) {
      if (await answers(h.url, 500)) return pid;
      const st = readStat(pid);
      if (!st || st.state === 'Z') throw new Error(`${h.node}: restarted process ${pid} exited at once (log ${log})`);
      await sleep(100);
    }
    throw new Error(`${h.node}: restarted as pid ${pid} but ${h.url} does not answer after ${this.startWaitMs} ms (log ${log})`);
  }
}
