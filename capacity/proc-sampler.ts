/**
 * Samples a process's CPU time and resident memory from /proc (Linux) at a fixed interval, for the bench's
 * figures (capacity/figures.ts turns the samples into cores and bytes).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ProcSample } from './figures.js';

let clockTicks: number | undefined;
/**
 * Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, 100 on Linux), asked the first
 * time a sample needs it: not when the module loads (the bench refuses bad input before it starts anything).
 */
export function clockTicksPerS(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** One sample of the process now, or undefined when it is gone. */
export function readProcSample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields start after the last ')'; utime and stime are fields 14, 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return { atMs: Date.now(), cpuS: (Number(f[11]) + Number(f[12])) / clockTicksPerS(), rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The whole machine as one sample: CPU seconds all cores spent busy so far (/proc/stat: everything but idle and
 * iowait) and memory in use (MemTotal − MemAvailable), to tell how much of the cores other processes took.
 */
export function readMachineSample(): ProcSample | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const mem = readFileSync('/proc/meminfo', 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(mem)?.[1] ?? 0);
    return { atMs: Date.now(), cpuS: (total - idle) / clockTicksPerS(), rssBytes: (kb('MemTotal') - kb('MemAvailable')) * 1024 };
  } catch {
    return undefined;
  }
}

export interface Sampler {
  /** Stops sampling and returns every sample taken (one more is taken first, if the process still runs). */
  stop(): ProcSample[];
}

/** Samples `read()` (a process: `() => readProcSample(pid)`; the machine: readMachineSample) every `everyMs`. */
export function sampleEvery(read: () => ProcSample | undefined, everyMs = 250): Sampler {
  const samples: ProcSample[] = [];
  const take = (): void => {
    const s = read();
    if (s) samples.push(s);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export function sampleProcess(pid: number, everyMs = 250): Sampler {
  return sampleEvery(() => readProcSample(pid), everyMs);
}

/** The soft limit of open files of this process (inherited by what it spawns), from /proc/self/limits. */
export function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
