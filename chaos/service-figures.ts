/**
 * Each service's view of a fault: the failover figures (chaos/figures.ts) computed over one service's requests
 * only, from the `service` tag every REST request of the scenarios carries (chat, orghub, session, tenanthub).
 * Each app service has its own dbman client with its own failure counts and cooldowns, so one dbman fault can
 * cost session a burst of errors while chat fails over at once: the whole-run figures would average that away.
 */
import { forEachPoint } from '../runner/raw.js';
import { bucketize, failoverFigures, percentile, type FaultWindow, type RequestSample, type Series, type Slo } from './figures.js';

/** One service during one fault. */
export interface ServiceFaultFigures {
  requestsDuringFault: number;
  failedDuringFault: number;
  /** p95 / max of the durations of the requests that ended between inject and heal, ms. */
  p95DuringFaultMs: number | null;
  maxDuringFaultMs: number | null;
  longestErrorBurst: { seconds: number; startOffsetS: number; failed: number } | null;
  /** As chaos/figures.ts; null also when the service's requests are too sparse to time it (see `note`). */
  failoverS: number | null;
  firstErrorOffsetS: number | null;
  /** Set when the failover time is not judged: the service had requests in too few seconds of the fault. */
  note?: string;
}

/** A second without a completed request counts as a stall; a service must have filled this share of the seconds before the fault to be timed. */
export const MIN_COVERED_SHARE = 0.8;

/** The services' samples from k6's raw output, one series per `service` tag (requests without it are left out). */
export async function readServiceSeries(rawPath: string): Promise<Record<string, Series>> {
  const samples = new Map<string, RequestSample[]>();
  await forEachPoint(
    rawPath,
    (p) => {
      const svc = p.tags.service;
      if (!svc || p.tags.phase === 'setup') return;
      let list = samples.get(svc);
      if (!list) samples.set(svc, (list = []));
      const at = Date.parse(p.time);
      if (p.metric === 'http_req_duration') list.push({ at, durationMs: p.value, phase: p.tags.phase });
      else list.push({ at, failed: p.value > 0, phase: p.tags.phase });
    },
    new Set(['http_req_duration', 'http_req_failed']),
  );
  const out: Record<string, Series> = {};
  for (const [svc, list] of [...samples].sort(([a], [b]) => a.localeCompare(b))) out[svc] = bucketize(list);
  return out;
}

/** Every service's figures for one fault window. */
export function serviceFaultFigures(bySvc: Record<string, Series>, w: FaultWindow, slo: Slo, holdS: number): Record<string, ServiceFaultFigures> {
  const out: Record<string, ServiceFaultFigures> = {};
  for (const [svc, series] of Object.entries(bySvc)) {
    const f = failoverFigures(series, w, slo, holdS);
    const during = series.buckets.filter((b) => (b.second + 1) * 1000 > w.injectAt && b.second * 1000 < w.healAt).flatMap((b) => b.durations);
    // A service whose requests did not fill most seconds before the fault (orghub: a login now and then) would read
    // as stalled in every empty second; a steady one (chat, session, tenanthub) that goes quiet during the fault is
    // stalled, and is timed. Judged from the seconds before the inject, so a stall cannot excuse itself.
    const before = series.buckets.filter((b) => (b.second + 1) * 1000 <= w.injectAt);
    const covered = before.filter((b) => b.requests > 0).length;
    const sparse = before.length === 0 || covered < MIN_COVERED_SHARE * before.length;
    out[svc] = {
      requestsDuringFault: f.requestsDuringFault,
      failedDuringFault: f.failedDuringFault,
      p95DuringFaultMs: percentile(during, 95),
      maxDuringFaultMs: during.length ? Math.max(...during) : null,
      longestErrorBurst: f.longestErrorBurst,
      failoverS: sparse ? null : f.failoverS,
      firstErrorOffsetS: f.firstErrorOffsetS,
      ...(sparse ? { note: `${before.length === 0 ? 'no requests' : `requests in ${covered} of ${before.length} s`} before the fault: too sparse to time a failover` } : {}),
    };
  }
  return out;
}

const ms = (x: number | null) => (x === null ? '—' : `${Math.round(x)} ms`);

/** The printout's lines for one fault, one per service. */
export function formatServiceFigures(bySvc: Record<string, ServiceFaultFigures> | undefined, indent = '    '): string[] {
  if (!bySvc) return [];
  return Object.entries(bySvc).map(
    ([svc, f]) =>
      `${indent}${svc}: failed ${f.failedDuringFault}/${f.requestsDuringFault} during the fault, p95 ${ms(f.p95DuringFaultMs)} max ${ms(f.maxDuringFaultMs)}, ` +
      `longest error burst ${f.longestErrorBurst ? `${f.longestErrorBurst.seconds}s (${f.longestErrorBurst.failed} failed)` : 'none'}, ` +
      `failover ${f.note ? `not timed (${f.note})` : f.failoverS === null ? '— (SLO not held before heal)' : `${f.failoverS}s`}`,
  );
}
