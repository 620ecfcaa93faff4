/**
 * `npm run load -- plan --profile P [--scale x] [--bench file]`: runners a profile needs and the OS settings
 * each runner needs; `npm run load -- tune [--apply] [--sockets N]` applies them (dry run by default; root only).
 *
 * Per-runner capacity: from the bench JSON (`npm run bench` writes `bench/results.json`; `capacity`) when present,
 * else DEFAULT_CAPACITY, measured by `npm run bench` on the quiet 2-core machine (2026-12-03 evening, k6 v1.8.1,
 * GOGC 400, after the cheaper hot paths of lib/; see README.md, "How many load generators"): in two bench runs one
 * k6 process held 2,000 stage-3 room sockets (a send every 10 s in rooms of 50) with delivery p95 20 and 18 ms, and
 * not 3,000 (218 and 345 ms), at ~0.37-0.39 millicores and ~570-610 KiB per socket, so latency, not memory or
 * CPU, is the limit (before that change the same evening: 1,500 held, 2,000 at 105 ms); the suite's REST scenario
 * ran 2,175 iterations/s (4,742 requests/s) on 1.58 cores.
 * A k6 process is assumed to carry both its sockets and its REST share (the larger process count of the two is
 * taken). One k6 process per runner by default; for a runner of a given size (`--runner-cores C
 * [--runner-memory-gib M]`) as many processes as its cores and memory carry at the measured per-process cost
 * (DEFAULT_PROCESS_COST, less RUNNER_RESERVE), started with `--local-parts k` (split/local-parts.ts).
 */
import { execFileSync } from 'node:child_process';
import type { MeasuredCapacity } from '../capacity/figures.js';
import { readBenchCapacity } from '../capacity/results.js';
import { UsageError } from '../runner/smoke-config.js';
import { MAX_LOCAL_PARTS } from './segments.js';
import { peakRestRate, peakSockets, peakVus, resolveProfile, type ProfileName } from '../lib/profiles.js';

export const DEFAULT_CAPACITY = { socketsPerRunner: 2000, restIterationsPerS: 2175, source: 'default (npm run bench, 2 cores, 2026-12-03)' };
/**
 * What one k6 process costs at its load (npm run bench, 2 cores, 2026-12-03 evening, GOGC 400): ~0.39 millicores
 * and ~590 KiB per room socket over an idle 68 MiB; the suite's REST code 1.58 cores at 2,175 iterations/s.
 */
export const DEFAULT_PROCESS_COST = { coresPerSocket: 0.00039, coresPerRestIterationPerS: 1.58 / 2175, idleMiB: 68, miBPerSocket: 590 / 1024 };
/** Left on a runner for the OS, the Node process that starts the parts and writes their raw output. */
export const RUNNER_RESERVE = { cores: 0.5, memoryGiB: 1 };
/** A runner machine's size (`plan --runner-cores C [--runner-memory-gib M]`). */
export interface RunnerSize {
  cores: number;
  memoryGiB?: number;
}

/** Ephemeral ports per (source address, destination) pair, with ip_local_port_range 1024-65535, minus headroom. */
export const SOCKETS_PER_SOURCE_ADDRESS = 60_000;

export interface RunnerPlan {
  profile: ProfileName;
  scale: number;
  peakSockets: number;
  peakVus: number;
  peakRestRate: number;
  capacity: { socketsPerRunner: number; restIterationsPerS: number; source: string };
  /** Runner machines (jobs). */
  runners: number;
  /** k6 processes per runner (`--local-parts`; 1 unless a runner size was given) and in all (runners x that). */
  processesPerRunner: number;
  processes: number;
  runnerSize?: RunnerSize;
  perRunner: { sockets: number; vus: number; restRate: number };
  /** One k6 process's share and its estimated cost (DEFAULT_PROCESS_COST). */
  perProcess: { sockets: number; vus: number; restRate: number; cores: number; memoryMiB: number };
  os: { nofile: number; localPortRange: string; sourceAddresses: number; notes: string[] };
}

/**
 * The capacity from a bench's measured figures; a figure the bench did not measure (null) keeps its default, and
 * the source says so.
 */
export function capacityOf(measured: MeasuredCapacity | undefined, source: string): RunnerPlan['capacity'] {
  if (!measured || (measured.socketsPerRunner === null && measured.restIterationsPerS === null)) return DEFAULT_CAPACITY;
  const defaulted = [measured.socketsPerRunner === null ? 'sockets' : '', measured.restIterationsPerS === null ? 'REST' : ''].filter(Boolean);
  return {
    socketsPerRunner: measured.socketsPerRunner ?? DEFAULT_CAPACITY.socketsPerRunner,
    restIterationsPerS: measured.restIterationsPerS ?? DEFAULT_CAPACITY.restIterationsPerS,
    source: defaulted.length ? `${source}; default for ${defaulted.join(' and ')}` : source,
  };
}

/** The capacity of a bench results file (`npm run bench`), DEFAULT_CAPACITY when there is none. */
export function readCapacity(benchFile: string | undefined): RunnerPlan['capacity'] {
  if (!benchFile) return DEFAULT_CAPACITY;
  try {
    return capacityOf(readBenchCapacity(benchFile), benchFile);
  } catch (err) {
    throw new UsageError('--bench', `--bench: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function osSettings(sockets: number): RunnerPlan['os'] {
  const sourceAddresses = Math.max(1, Math.ceil(sockets / SOCKETS_PER_SOURCE_ADDRESS));
  const notes = [`ulimit -n ${Math.max(65536, Math.ceil(sockets * 2 + 10000))} (a socket is one fd; k6 and the runtime need more)`, 'sysctl -w net.ipv4.ip_local_port_range="1024 65535"'];
  if (sourceAddresses > 1) notes.push(`${sourceAddresses} source addresses (k6 --local-ips <first>-<last>, addresses the runner owns): one address has at most ~${SOCKETS_PER_SOURCE_ADDRESS} ports to one target address and port`);
  return { nofile: Math.max(65536, Math.ceil(sockets * 2 + 10000)), localPortRange: '1024 65535', sourceAddresses, notes };
}

/** The estimated cores and memory of one k6 process holding `sockets` room sockets and `restRate` REST iterations/s. */
export function processCost(sockets: number, restRate: number, cost = DEFAULT_PROCESS_COST): { cores: number; memoryMiB: number } {
  return { cores: sockets * cost.coresPerSocket + restRate * cost.coresPerRestIterationPerS, memoryMiB: cost.idleMiB + sockets * cost.miBPerSocket };
}

/** k6 processes a runner of this size carries at this per-process cost (at least 1, at most `needed`). */
export function processesPerRunner(size: RunnerSize, perProcess: { cores: number; memoryMiB: number }, needed: number): number {
  const byCores = Math.floor((size.cores - RUNNER_RESERVE.cores) / Math.max(perProcess.cores, 0.01));
  const byMemory = size.memoryGiB === undefined ? Infinity : Math.floor(((size.memoryGiB - RUNNER_RESERVE.memoryGiB) * 1024) / perProcess.memoryMiB);
  return Math.max(1, Math.min(byCores, byMemory, needed, MAX_LOCAL_PARTS));
}

export function planRunners(profile: ProfileName, scale = 1, capacity = DEFAULT_CAPACITY, size?: RunnerSize): RunnerPlan {
  const p = resolveProfile(profile, scale !== 1 ? { scale } : {});
  const sockets = peakSockets(p);
  const rest = peakRestRate(p);
  const vus = peakVus(p);
  const needed = Math.max(1, Math.ceil(sockets / capacity.socketsPerRunner), Math.ceil(rest / capacity.restIterationsPerS));
  const k = size ? processesPerRunner(size, processCost(sockets / needed, rest / needed), needed) : 1;
  const runners = Math.ceil(needed / k);
  const processes = runners * k;
  const share = { sockets: Math.ceil(sockets / processes), vus: Math.ceil(vus / processes), restRate: rest / processes };
  const perProcess = { ...share, ...processCost(share.sockets, share.restRate) };
  const perRunner = { sockets: Math.ceil(sockets / runners), vus: Math.ceil(vus / runners), restRate: rest / runners };
  return { profile, scale, peakSockets: sockets, peakVus: vus, peakRestRate: rest, capacity, runners, processesPerRunner: k, processes, ...(size ? { runnerSize: size } : {}), perRunner, perProcess, os: osSettings(perRunner.sockets) };
}

export function formatPlan(r: RunnerPlan): string {
  return [
    `profile ${r.profile}${r.scale !== 1 ? ` x${r.scale}` : ''}: peak ${r.peakSockets} sockets, ${r.peakVus} VUs, ${r.peakRestRate} REST iterations/s`,
    `capacity per runner: ${r.capacity.socketsPerRunner} sockets, ${r.capacity.restIterationsPerS} REST iterations/s (${r.capacity.source})`,
    r.processesPerRunner === 1
      ? `runners: ${r.runners} (npm run load -- --profile ${r.profile} --segment i/${r.runners}, i = 1..${r.runners}); each ~${r.perRunner.sockets} sockets, ~${r.perRunner.vus} VUs`
      : `runners: ${r.runners} x ${r.processesPerRunner} k6 processes = ${r.processes} parts (npm run load -- --profile ${r.profile} --segment i/${r.runners} --local-parts ${r.processesPerRunner}, i = 1..${r.runners}); each runner ~${r.perRunner.sockets} sockets, ~${r.perRunner.vus} VUs`,
    `per k6 process: ~${r.perProcess.sockets} sockets, ~${r.perProcess.vus} VUs, ~${r.perProcess.restRate.toFixed(1)} REST iterations/s, est. ${r.perProcess.cores.toFixed(2)} cores and ${Math.round(r.perProcess.memoryMiB)} MiB${r.runnerSize ? ` (runner of ${r.runnerSize.cores} cores${r.runnerSize.memoryGiB !== undefined ? `, ${r.runnerSize.memoryGiB} GiB` : ''}, ${RUNNER_RESERVE.cores} cores and ${RUNNER_RESERVE.memoryGiB} GiB kept free)` : ' (one per runner; --runner-cores C [--runner-memory-gib M] for several on a larger runner)'}`,
    'OS settings per runner (npm run load -- tune --apply as root):',
    ...r.os.notes.map((n) => `  ${n}`),
  ].join('\n');
}

/** The commands `tune` runs; executed only with apply (and as root). */
export function tuneCommands(sockets: number): string[][] {
  const os = osSettings(sockets);
  return [
    ['sysctl', '-w', `net.ipv4.ip_local_port_range=${os.localPortRange}`],
    ['sysctl', '-w', `fs.nr_open=${Math.max(1048576, os.nofile)}`],
  ];
}

export function tune(sockets: number, apply: boolean, log: (l: string) => void): number {
  const cmds = tuneCommands(sockets);
  if (!apply) {
    for (const c of cmds) log(`would run: ${c.join(' ')}`);
    log('dry run: pass --apply (as root) to apply; source addresses must be added to the interface by hand (ip addr add)');
    log(`and in the shell that starts k6: ulimit -n ${osSettings(sockets).nofile}`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    log('tune: --apply needs root');
    return 2;
  }
  for (const c of cmds) {
    log(`running: ${c.join(' ')}`);
    execFileSync(c[0]!, c.slice(1), { stdio: 'inherit' });
  }
  log(`now in the shell that starts k6: ulimit -n ${osSettings(sockets).nofile}`);
  return 0;
}
