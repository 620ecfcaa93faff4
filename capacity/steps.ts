/**
 * The socket part's steps, PURE: which counts to try (doubling from 250, in whole VUs of sockets), when a step
 * counts as steady, and when to stop (the first step that is not steady, the socket cap, or a memory or time cap
 * the next step would cross).
 */

/** A step's measured facts that decide whether it was steady. */
export interface StepFacts {
  sockets: number;
  /** ws_delivery_latency p95 (send → own echo), null without samples. */
  deliveryP95Ms: number | null;
  deliveries: number;
  openFailed: number;
  closedEarly: number;
  echoTimeouts: number;
  peakRssBytes: number;
  wallMs: number;
}

export interface SteadyBounds {
  deliveryP95Ms: number;
  memoryCapBytes: number;
}

export interface StopLimits {
  memoryCapBytes: number;
  /** Wall time the socket part may take in all. */
  timeCapMs: number;
}

/** Counts to try: first, 2×first, 4×first, … up to max, then max itself; all multiples of `unit` (≥ unit). */
export function socketSteps(max: number, unit: number, first = 250): number[] {
  const top = Math.max(unit, Math.floor(max / unit) * unit);
  const start = Math.max(unit, Math.floor(first / unit) * unit);
  const out: number[] = [];
  for (let n = start; n < top && out.length < 64; n *= 2) out.push(n);
  out.push(top);
  return out;
}

/** Why a step was not steady; empty when it was. */
export function unsteadyReasons(f: StepFacts, b: SteadyBounds): string[] {
  const r: string[] = [];
  if (f.deliveries === 0 || f.deliveryP95Ms === null) r.push('no deliveries measured');
  else if (f.deliveryP95Ms > b.deliveryP95Ms) r.push(`delivery p95 ${f.deliveryP95Ms.toFixed(1)} ms > ${b.deliveryP95Ms} ms`);
  if (f.openFailed > 0) r.push(`${f.openFailed} socket(s) failed to open`);
  if (f.closedEarly > 0) r.push(`${f.closedEarly} socket(s) closed early`);
  if (f.echoTimeouts > 0) r.push(`${f.echoTimeouts} echo timeout(s)`);
  if (f.peakRssBytes > b.memoryCapBytes) r.push(`k6 RSS ${mib(f.peakRssBytes)} > cap ${mib(b.memoryCapBytes)}`);
  return r;
}

export type NextStep = { run: number } | { stop: string };

/**
 * The next count to run after `done` (each with its unsteady reasons), or why to stop. After the first step that
 * is not steady, one more step halfway between it and the last steady one (in whole `unit`s) narrows the figure
 * down; then it stops. `capReason` names what set the largest count (e.g. `--max-sockets 16000`).
 */
export function nextStep(steps: readonly number[], done: ReadonlyArray<StepFacts & { reasons: string[] }>, elapsedMs: number, limits: StopLimits, capReason: string, unit: number): NextStep {
  const last = done[done.length - 1];
  const broke = done.find((d) => d.reasons.length > 0);
  const timeLeft = (next: number): boolean => !last || elapsedMs + Math.min((last.wallMs * next) / last.sockets, 2 * last.wallMs) <= limits.timeCapMs;
  if (broke) {
    const why = `${broke.sockets} sockets not steady: ${broke.reasons.join('; ')}`;
    if (last !== broke) return { stop: `${why}; ${last!.sockets} sockets ${last!.reasons.length ? `not steady either: ${last!.reasons.join('; ')}` : 'steady'}` };
    const steady = maxSteadySockets(done);
    const mid = Math.floor((steady + broke.sockets) / 2 / unit) * unit;
    if (steady > 0 && mid > steady && mid < broke.sockets && timeLeft(mid)) return { run: mid };
    return { stop: why };
  }
  const next = steps[done.length];
  if (next === undefined) return { stop: `reached the socket cap (${capReason})` };
  if (!last) return { run: next };
  const predictedRss = (last.peakRssBytes * next) / last.sockets;
  if (predictedRss > limits.memoryCapBytes) return { stop: `memory cap: ${next} sockets would need ~${mib(predictedRss)} of k6 RSS > ${mib(limits.memoryCapBytes)}` };
  if (!timeLeft(next)) return { stop: `time cap: ${next} sockets would end the socket part after ${Math.round(limits.timeCapMs / 1000)} s` };
  return { run: next };
}

/** The most sockets of a step that was steady (0 when none was). */
export function maxSteadySockets(done: ReadonlyArray<{ sockets: number; reasons: string[] }>): number {
  return done.filter((d) => d.reasons.length === 0).reduce((m, d) => Math.max(m, d.sockets), 0);
}

/** Open files k6 keeps for itself besides its sockets. */
const FD_HEADROOM = 1000;

/** The largest socket step and what set it: --max-sockets or the open-files limit k6 inherits. */
export function socketCap(maxSockets: number, openFiles: number | undefined, unit: number): { max: number; reason: string } {
  const byFiles = openFiles === undefined ? Infinity : Math.floor((openFiles - FD_HEADROOM) / unit) * unit;
  return byFiles < maxSockets ? { max: Math.max(unit, byFiles), reason: `open-files limit ${openFiles} (ulimit -n)` } : { max: maxSockets, reason: `--max-sockets ${maxSockets}` };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}
