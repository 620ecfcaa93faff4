/**
 * The bench's arithmetic, PURE: /proc samples → CPU cores and peak memory over a window, rates, ratios, the
 * per-socket figures and the per-runner capacity the load plan reads.
 */

/** One /proc reading of a process: CPU seconds used so far (user + system) and resident memory. */
export interface ProcSample {
  atMs: number;
  cpuS: number;
  rssBytes: number;
}

/** [fromMs, toMs], epoch ms. */
export interface TimeWindow {
  fromMs: number;
  toMs: number;
}

export function inWindow(samples: readonly ProcSample[], w: TimeWindow): ProcSample[] {
  return samples.filter((s) => s.atMs >= w.fromMs && s.atMs <= w.toMs);
}

/** Mean cores used between the first and the last sample inside the window; 0 with fewer than two samples. */
export function cpuCores(samples: readonly ProcSample[], w: TimeWindow): number {
  const s = inWindow(samples, w);
  if (s.length < 2) return 0;
  const first = s[0]!;
  const last = s[s.length - 1]!;
  const seconds = (last.atMs - first.atMs) / 1000;
  return seconds > 0 ? Math.max(0, last.cpuS - first.cpuS) / seconds : 0;
}

/** Cores the rest of the machine (other jobs, kernel threads) used in the window: machine busy cores − the measured processes' cores (≥ 0). */
export function otherCores(machine: readonly ProcSample[], measured: readonly (readonly ProcSample[])[], w: TimeWindow): number {
  return Math.max(0, cpuCores(machine, w) - measured.reduce((sum, s) => sum + cpuCores(s, w), 0));
}

/** Highest resident memory inside the window (0 without samples). */
export function peakRssBytes(samples: readonly ProcSample[], w: TimeWindow): number {
  return inWindow(samples, w).reduce((m, s) => Math.max(m, s.rssBytes), 0);
}

export function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

/** a / b, or null when b is not a positive number (a figure that could not be measured). */
export function ratio(a: number, b: number | null | undefined): number | null {
  return b !== null && b !== undefined && b > 0 ? a / b : null;
}

/**
 * What one more socket costs k6: (peak RSS during the step − RSS of the same k6 idle) / sockets, and the step's
 * k6 CPU / sockets in millicores (thousandths of a core).
 */
export function perSocket(step: { sockets: number; peakRssBytes: number; cpuCores: number }, idleRssBytes: number): { memoryBytes: number; cpuMillicores: number } {
  if (step.sockets <= 0) return { memoryBytes: 0, cpuMillicores: 0 };
  return { memoryBytes: Math.max(0, step.peakRssBytes - idleRssBytes) / step.sockets, cpuMillicores: (step.cpuCores * 1000) / step.sockets };
}

/** The per-runner capacity `npm run load -- plan --bench` reads; null for a part the bench did not measure. */
export interface MeasuredCapacity {
  socketsPerRunner: number | null;
  restIterationsPerS: number | null;
}

/**
 * Capacity of one runner from what one k6 process held on this machine: the most sockets held steadily and the
 * REST iterations per second of the suite's own REST code, both floors (the endpoint shared the cores). A part
 * that held nothing steadily (0) or was not run gives null: the plan then keeps its default for it.
 */
export function capacityFrom(m: { maxSteadySockets?: number | undefined; suiteIterationsPerS?: number | undefined }): MeasuredCapacity {
  const pos = (x: number | undefined): number | null => (x !== undefined && x > 0 ? x : null);
  const sockets = pos(m.maxSteadySockets);
  const rest = pos(m.suiteIterationsPerS);
  return { socketsPerRunner: sockets, restIterationsPerS: rest === null ? null : Math.floor(rest) };
}
