/** Detached child processes of the launcher: spawn with a log file, recognise them later by pid + start time, stop them. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export interface ProcRecord {
  name: string;
  pid: number;
  /** Start time from /proc/<pid>/stat (clock ticks since boot), to tell our process from a reused pid. */
  startTime?: number;
  /** Signal for a graceful stop (postgres: SIGINT, fast shutdown). */
  stopSignal?: NodeJS.Signals;
  /** Signal the process group (the process is a group leader) or only the pid. */
  group?: boolean;
  /** The program started (spawnDetached records it): /proc/<pid>/cmdline must still name it before a signal. */
  cmd?: string;
}

/** Field 22 of /proc/<pid>/stat and the state letter, or undefined when the process does not exist. */
function procStat(pid: number): { startTime: number; state: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

export function procStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/** True while the process runs (a zombie counts as gone) and is still the one recorded. */
export function isAlive(p: Pick<ProcRecord, 'pid' | 'startTime'>): boolean {
  const st = procStat(p.pid);
  if (st) {
    if (st.state === 'Z' || st.state === 'X') return false;
    return p.startTime === undefined || st.startTime === p.startTime;
  }
  try {
    process.kill(p.pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * Whether `p` is still the very process the suite started, so that it may be signalled: it runs, its start time
 * (from /proc) is the recorded one, and its command line still names the recorded program (a program may
 * rewrite its title, as redis-server does, but keeps its name first). A record without a start time is never
 * ours: its pid could be anyone's by now.
 */
export function isOurs(p: Pick<ProcRecord, 'pid' | 'startTime' | 'cmd'>): boolean {
  if (p.startTime === undefined) return false;
  const st = procStat(p.pid);
  if (!st || st.state === 'Z' || st.state === 'X' || st.startTime !== p.startTime) return false;
  if (p.cmd === undefined) return true;
  const first = cmdlineOf(p.pid)?.[0];
  if (first === undefined) return false;
  const name = basename(p.cmd);
  return first === p.cmd || basename(first.split(' ')[0]!).startsWith(name) || first.startsWith(name);
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  logFile: string;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** Starts a detached process (own process group, stdio to `logFile`) that outlives the launcher. */
export function spawnDetached(name: string, cmd: string, args: string[], o: SpawnOptions): ProcRecord {
  const fd = openSync(o.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      env: o.env,
      cwd: o.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: o.uid,
      gid: o.gid,
    });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
    child.on('error', () => undefined);
    child.unref();
    return { name, pid: child.pid, startTime: procStartTime(child.pid), group: true, cmd };
  } finally {
    closeSync(fd);
  }
}

function signal(p: ProcRecord, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -p.pid : p.pid, sig);
  } catch {
    /* gone already */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops processes: SIGCONT first (a paused process cannot act on SIGTERM), then the stop signal, then SIGKILL to
 * the whole group after `graceMs`. Resolves when none of them runs any more.
 */
export async function stopProcesses(procs: ProcRecord[], graceMs = 5000, log: (line: string) => void = () => {}): Promise<void> {
  for (const p of procs) {
    if (p.startTime === undefined && isAlive(p)) log(`not stopping ${p.name} (pid ${p.pid}): no start time recorded, it may not be the process the suite started`);
  }
  const live = procs.filter((p) => isOurs(p));
  for (const p of live) {
    signal(p, 'SIGCONT', p.group !== false);
    signal(p, p.stopSignal ?? 'SIGTERM', false);
  }
  const deadline = Date.now() + graceMs;
  while (live.some((p) => isOurs(p)) && Date.now() < deadline) await sleep(50);
  for (const p of live) {
    if (isOurs(p)) signal(p, 'SIGKILL', p.group !== false);
  }
  const killDeadline = Date.now() + 5000;
  while (live.some((p) => isOurs(p)) && Date.now() < killDeadline) await sleep(50);
  // Whatever is left of a process group (e.g. a postgres backend) goes too; not when the leader's pid now
  // belongs to another process (which could lead a group of its own by that number).
  for (const p of live) {
    const now = procStat(p.pid);
    if (p.group !== false && (!now || now.startTime === p.startTime)) signal(p, 'SIGKILL', true);
  }
}

/** Every process the launcher starts carries these in its environment, so a copy restarted by someone else (a chaos driver copies /proc/<pid>/environ) is still found. */
export const STACK_ID_VAR = 'TARGET_STACK_ID';
export const COMPONENT_VAR = 'TARGET_COMPONENT';

export interface MarkedProcess {
  pid: number;
  ppid: number;
  startTime: number;
  component?: string;
}

/** Live processes whose environment has TARGET_STACK_ID=<stackId> (not this process; zombies left out). */
export function findMarked(stackId: string): MarkedProcess[] {
  const out: MarkedProcess[] = [];
  const needle = `${STACK_ID_VAR}=${stackId}`;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of entries) {
    const pid = Number(d);
    if (pid === process.pid) continue;
    let env: string[];
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!env.includes(needle)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' || f[0] === 'X') continue;
      const comp = env.find((e) => e.startsWith(`${COMPONENT_VAR}=`))?.slice(COMPONENT_VAR.length + 1);
      out.push({ pid, ppid: Number(f[1]), startTime: Number(f[19]), component: comp });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The last lines the log got from byte `from` on (one start attempt's, the log being appended to by each). */
export function logTail(file: string, from = 0, lines = 5): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

/** A log's size now: where the next start attempt's lines begin. */
export function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
