/**
 * Failover figures (the checker's numbers), computed from k6's raw samples against the ledger's real inject and
 * heal timestamps. Pure functions over per-second buckets; `readSeries` is the one that reads a file.
 *
 * A second is "good" when requests completed in it and its error rate and p95 are within the SLO; a second in
 * which no request completed while the load ran is "bad" (a stall: every VU waits on a frozen node).
 *
 *   failover time   inject → the start of the first run of `holdS` good seconds that follows the first bad
 *                   second after inject (0 when no bad second is seen before heal: no visible impact;
 *                   null when the SLO never holds for `holdS` s before heal)
 *   relapses        bad seconds after failover and before heal (a cooldown that ends and costs again)
 *   longest burst   the longest run of consecutive seconds with at least one failed request
 *   failed in fault requests that failed between inject and heal
 *   recovery time   heal → both the healed node ready (polled by the drill) and `holdS` good seconds
 *   first error     the first failed request at or after inject, as an offset from inject (k6 stamps a sample
 *                   when the request ends, so a timeout shows up one client timeout after the fact)
 *   phases          count, failed, error rate, p95, p99 per `phase` tag (baseline|fault|recovery)
 */
import { forEachPoint } from '../runner/raw.js';

export interface Bucket {
  /** Epoch second. */
  second: number;
  requests: number;
  failed: number;
  /** Durations (ms) of requests that ended in this second. */
  durations: number[];
}

export interface Slo {
  /** Highest error rate a second may have, 0..1. */
  errorRate: number;
  /** Highest p95 (ms) a second may have. */
  p95Ms: number;
}

export interface PhaseStats {
  requests: number;
  failed: number;
  errorRate: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface Series {
  buckets: Bucket[];
  /** Epoch ms of every failed request (sorted). */
  failures: number[];
  phases: Record<string, PhaseStats>;
  /** First and last sample (epoch ms). */
  firstAt: number | null;
  lastAt: number | null;
}

export interface FaultWindow {
  fault: string;
  node: string;
  /** Real times from the ledger, epoch ms. */
  injectAt: number;
  healAt: number;
  /** When the drill first saw the node ready after heal, epoch ms (null: never during the run). */
  nodeReadyAt?: number | null;
}

export interface FailoverFigures {
  fault: string;
  node: string;
  injectAt: string;
  healAt: string;
  impactSeen: boolean;
  failoverS: number | null;
  relapseSeconds: number;
  longestErrorBurst: { seconds: number; startOffsetS: number; failed: number } | null;
  requestsDuringFault: number;
  failedDuringFault: number;
  recoveryS: number | null;
  nodeReadyAfterHealS: number | null;
  firstErrorOffsetS: number | null;
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A request sample: when it ended, how long it took, whether it failed, and its phase tag. */
export interface RequestSample {
  at: number;
  durationMs?: number;
  failed?: boolean;
  phase?: string;
}

/**
 * Per-second buckets, contiguous from the first to the last sample's second (seconds with no completed request
 * are present with requests = 0). A sample with `failed` counts a request; one with `durationMs` adds a duration.
 */
export function bucketize(samples: Iterable<RequestSample>): Series {
  const map = new Map<number, Bucket>();
  const failures: number[] = [];
  const phaseVals = new Map<string, { requests: number; failed: number; durations: number[] }>();
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  for (const s of samples) {
    const sec = Math.floor(s.at / 1000);
    let b = map.get(sec);
    if (!b) map.set(sec, (b = { second: sec, requests: 0, failed: 0, durations: [] }));
    const ph = s.phase ?? 'untagged';
    let pv = phaseVals.get(ph);
    if (!pv) phaseVals.set(ph, (pv = { requests: 0, failed: 0, durations: [] }));
    if (s.failed !== undefined) {
      b.requests += 1;
      pv.requests += 1;
      if (s.failed) {
        b.failed += 1;
        pv.failed += 1;
        failures.push(s.at);
      }
    }
    if (s.durationMs !== undefined) {
      b.durations.push(s.durationMs);
      pv.durations.push(s.durationMs);
    }
    firstAt = firstAt === null ? s.at : Math.min(firstAt, s.at);
    lastAt = lastAt === null ? s.at : Math.max(lastAt, s.at);
  }
  const buckets: Bucket[] = [];
  if (map.size) {
    const secs = [...map.keys()];
    const lo = Math.min(...secs);
    const hi = Math.max(...secs);
    for (let s = lo; s <= hi; s++) buckets.push(map.get(s) ?? { second: s, requests: 0, failed: 0, durations: [] });
  }
  const phases: Record<string, PhaseStats> = {};
  for (const [ph, v] of phaseVals) {
    phases[ph] = {
      requests: v.requests,
      failed: v.failed,
      errorRate: v.requests ? v.failed / v.requests : null,
      p95Ms: percentile(v.durations, 95),
      p99Ms: percentile(v.durations, 99),
    };
  }
  failures.sort((a, b) => a - b);
  return { buckets, failures, phases, firstAt, lastAt };
}

export function isGood(b: Bucket, slo: Slo): boolean {
  if (b.requests === 0 && b.durations.length === 0) return false;
  if (b.requests > 0 && b.failed / b.requests > slo.errorRate) return false;
  const p95 = percentile(b.durations, 95);
  return p95 === null || p95 <= slo.p95Ms;
}

/** Index of the first bucket at or after `fromSec` that starts `holdS` good seconds in a row, or -1. */
function firstHold(buckets: Bucket[], fromIdx: number, toIdx: number, holdS: number, slo: Slo): number {
  let run = 0;
  for (let i = fromIdx; i < buckets.length; i++) {
    if (i - run > toIdx) break; // the run would start after the limit
    run = isGood(buckets[i]!, slo) ? run + 1 : 0;
    if (run >= holdS) return i - holdS + 1;
  }
  return -1;
}

/** The failover figures of one fault window over a series. */
export function failoverFigures(series: Series, w: FaultWindow, slo: Slo, holdS: number): FailoverFigures {
  const { buckets } = series;
  const idxOf = (ms: number) => (buckets.length ? Math.floor(ms / 1000) - buckets[0]!.second : 0);
  const injIdx = Math.max(0, idxOf(w.injectAt));
  const healIdx = Math.min(buckets.length - 1, idxOf(w.healAt));
  const clampS = (x: number) => Math.max(0, Math.round(x * 10) / 10);
  // The heal's own second counts as the fault's only when most of it lies before the heal: otherwise its
  // requests are mostly the heal's (a node starting again), which the recovery figures judge, and a bad heal
  // second would read as "the SLO never held before heal" for a fault that never broke it.
  const lastFaultIdx = buckets.length && w.healAt - (buckets[0]!.second + healIdx) * 1000 < 500 ? healIdx - 1 : healIdx;

  // first bad second at or after inject, before heal
  let firstBad = -1;
  for (let i = injIdx; i <= lastFaultIdx && i < buckets.length; i++) {
    if (!isGood(buckets[i]!, slo)) {
      firstBad = i;
      break;
    }
  }
  let failoverS: number | null;
  let relapseSeconds = 0;
  if (firstBad === -1) {
    failoverS = 0;
  } else {
    const hold = firstHold(buckets, firstBad + 1, healIdx, holdS, slo);
    failoverS = hold === -1 ? null : clampS((buckets[0]!.second + hold) - w.injectAt / 1000);
    if (hold !== -1) for (let i = hold; i < healIdx; i++) if (!isGood(buckets[i]!, slo)) relapseSeconds += 1;
  }

  // longest burst of seconds with failures, from inject to the end of the series
  let best: FailoverFigures['longestErrorBurst'] = null;
  let start = -1;
  let failed = 0;
  for (let i = injIdx; i <= buckets.length; i++) {
    const b = buckets[i];
    if (b && b.failed > 0) {
      if (start === -1) {
        start = i;
        failed = 0;
      }
      failed += b.failed;
    } else if (start !== -1) {
      const len = i - start;
      if (!best || len > best.seconds) best = { seconds: len, startOffsetS: clampS(buckets[start]!.second - w.injectAt / 1000), failed };
      start = -1;
    }
  }

  let requestsDuringFault = 0;
  let failedDuringFault = 0;
  for (let i = injIdx; i < buckets.length && buckets[i]!.second * 1000 < w.healAt; i++) {
    // the inject and heal seconds are partial: count them whole (requests that ended in them)
    requestsDuringFault += buckets[i]!.requests;
  }
  for (const t of series.failures) if (t >= w.injectAt && t < w.healAt) failedDuringFault += 1;

  const nodeReadyAfterHealS =
    w.nodeReadyAt === undefined || w.nodeReadyAt === null ? null : clampS((w.nodeReadyAt - w.healAt) / 1000);
  const afterHeal = firstHold(buckets, Math.max(0, idxOf(w.healAt)), buckets.length, holdS, slo);
  const sloBackS = afterHeal === -1 ? null : clampS(buckets[0]!.second + afterHeal - w.healAt / 1000);
  const recoveryS =
    sloBackS === null || (w.nodeReadyAt !== undefined && nodeReadyAfterHealS === null)
      ? null
      : Math.max(sloBackS, nodeReadyAfterHealS ?? 0);

  const firstErr = series.failures.find((t) => t >= w.injectAt);
  return {
    fault: w.fault,
    node: w.node,
    injectAt: new Date(w.injectAt).toISOString(),
    healAt: new Date(w.healAt).toISOString(),
    impactSeen: firstBad !== -1,
    failoverS,
    relapseSeconds,
    longestErrorBurst: best,
    requestsDuringFault,
    failedDuringFault,
    recoveryS,
    nodeReadyAfterHealS,
    firstErrorOffsetS: firstErr === undefined ? null : Math.round(firstErr - w.injectAt) / 1000,
  };
}

export interface SeriesMetrics {
  /** Trend of request durations (ms); default http_req_duration. */
  duration: string;
  /** Rate metric whose samples are 1 for a failed request; default http_req_failed. */
  failed: string;
}
export const DEFAULT_SERIES_METRICS: SeriesMetrics = { duration: 'http_req_duration', failed: 'http_req_failed' };

/** Reads k6's raw output (NDJSON, gzipped or not) into a series. */
export async function readSeries(rawPath: string, m: SeriesMetrics = DEFAULT_SERIES_METRICS): Promise<Series> {
  const samples: RequestSample[] = [];
  await forEachPoint(
    rawPath,
    (p) => {
      const at = Date.parse(p.time);
      if (p.tags.phase === 'setup' || p.tags.traffic === 'storm') return; // setup() requests and the bad-request storm are not the load
      if (p.metric === m.duration) samples.push({ at, durationMs: p.value, phase: p.tags.phase });
      else samples.push({ at, failed: p.value > 0, phase: p.tags.phase });
    },
    new Set([m.duration, m.failed]),
  );
  return bucketize(samples);
}
