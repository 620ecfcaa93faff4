/** Small readers of /proc (Linux) used by the process driver. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, T (stopped), t, Z (zombie), ... */
  state: string;
  ppid: number;
  /** Clock ticks after boot: with the pid, identifies a process across pid reuse. */
  startTime: number;
}

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0]!, ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** A process identity: pid plus start time, so a reused pid is never taken for the original. */
export interface ProcRef {
  pid: number;
  startTime: number;
}

/** The live stat of the process, or undefined when it is gone, a zombie, or the pid now belongs to another. */
export function liveStat(ref: ProcRef): ProcStat | undefined {
  const st = readStat(ref.pid);
  if (!st || st.startTime !== ref.startTime || st.state === 'Z' || st.state === 'X') return undefined;
  return st;
}

/** The process and all its descendants, parents first. */
export function processTree(pid: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.push(st);
  }
  const root = all.find((s) => s.pid === pid);
  if (!root) return [];
  const out: ProcStat[] = [root];
  for (let i = 0; i < out.length; i++) {
    for (const s of all) if (s.ppid === out[i]!.pid) out.push(s);
  }
  return out;
}

export function readCmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
}

export function readEnviron(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

export function readCwd(pid: number): string {
  return readlinkSync(`/proc/${pid}/cwd`);
}

/** The real uid and gid of a process (/proc/<pid>/status); empty when unreadable. */
export function readIds(pid: number): { uid?: number; gid?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    return uid !== undefined && gid !== undefined ? { uid: Number(uid), gid: Number(gid) } : {};
  } catch {
    return {};
  }
}
