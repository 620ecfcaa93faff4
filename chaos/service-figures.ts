/**
 * The per-service view of a drill: failures and latency of each service the scenarios drive (the `service` tag of
 * every request: chat, orghub, session, tenanthub), per phase and during each fault, and the **outages**: runs of
 * seconds in which every request of one service failed.
 *
 * During each fault every service also gets the failover figures (chaos/figures.ts) over its own requests only:
 * its longest error burst, its max latency, its failover time. Each app service has its own dbman client with its
 * own failure counts and cooldowns, so one dbman fault can cost session a burst of errors while chat fails over at
 * once: the whole-run figures would average that away.
 *
 * The contract's client sets an endpoint aside after a few 5xx of any kind, so a handful of bad requests can take
 * a whole service down while every dbman node is fine. The drill cannot see a client's cooldowns from outside; it
 * infers them: an outage of one service while dbman nodes were ready AND serving (the drill's own probes) is named
 * as "inferred: <service>'s dbman client set every endpoint aside", never as observed. Pure, except readServiceSamples.
 */
import { forEachPoint } from '../runner/raw.js';
import { bucketize, failoverFigures, percentile, type FailoverFigures, type FaultWindow, type Slo } from './figures.js';
import { relapsesOf, type Relapse } from './relapses.js';
import type { StatePoint } from './drill/timeline.js';

export interface ServiceSample {
  at: number;
  service: string;
  phase: string;
  durationMs?: number;
  failed?: boolean;
}

export interface ServiceStats {
  requests: number;
  failed: number;
  errorRate: number | null;
  p95Ms: number | null;
}

/** One service during one fault: its stats between inject and heal, and the failover figures over its requests alone. */
export interface ServiceFaultStats extends ServiceStats {
  /** The longest duration of a request that ended between inject and heal, ms. */
  maxMs: number | null;
  longestErrorBurst: FailoverFigures['longestErrorBurst'];
  /** As chaos/figures.ts; null also when the service's requests are too sparse to time it (see `note`). */
  failoverS: number | null;
  firstErrorOffsetS: number | null;
  /**
   * The relapses in the service's own series (relapses.ts); only for a steady service (no `note`). The mixed series
   * of every service can hide one service's stall: fast requests of others keep its seconds good.
   */
  relapses?: Relapse[];
  /** Set when the failover time is not judged: the service had requests in too few seconds before the fault. */
  note?: string;
}

/** A second without a completed request counts as a stall; a service must have filled this share of the seconds before the fault to be timed. */
export const MIN_COVERED_SHARE = 0.8;

export interface ServiceOutage {
  service: string;
  start: string;
  /** Seconds in a row in which the service had requests and every one failed. */
  seconds: number;
  failed: number;
  /** dbman nodes that were ready and serving throughout the outage (the drill's probes). */
  healthyNodes: string[];
  /** The drill's reading of it, marked as inferred. */
  inference: string;
}

export interface ServiceFigures {
  /** service → phase → stats. */
  byPhase: Record<string, Record<string, ServiceStats>>;
  outages: ServiceOutage[];
}

/** Reads the request samples of k6's raw output with their `service` tag ('untagged' when a request has none); setup and the storm left out. */
export async function readServiceSamples(rawPath: string): Promise<ServiceSample[]> {
  const out: ServiceSample[] = [];
  await forEachPoint(
    rawPath,
    (p) => {
      const phase = p.tags.phase ?? 'untagged';
      if (phase === 'setup' || p.tags.traffic === 'storm') return; // the bad-request storm's own answers are not the service's load
      const base = { at: Date.parse(p.time), service: p.tags.service ?? 'untagged', phase };
      out.push(p.metric === 'http_req_duration' ? { ...base, durationMs: p.value } : { ...base, failed: p.value > 0 });
    },
    new Set(['http_req_duration', 'http_req_failed']),
  );
  return out;
}

function stats(samples: readonly ServiceSample[]): ServiceStats {
  const reqs = samples.filter((s) => s.failed !== undefined);
  const failed = reqs.filter((s) => s.failed).length;
  return {
    requests: reqs.length,
    failed,
    errorRate: reqs.length ? failed / reqs.length : null,
    p95Ms: percentile(samples.flatMap((s) => (s.durationMs === undefined ? [] : [s.durationMs])), 95),
  };
}

/** Stats per service and phase, plus `all` per service. */
export function servicesByPhase(samples: readonly ServiceSample[]): Record<string, Record<string, ServiceStats>> {
  const out: Record<string, Record<string, ServiceStats>> = {};
  for (const svc of [...new Set(samples.map((s) => s.service))].sort()) {
    const mine = samples.filter((s) => s.service === svc);
    out[svc] = { all: stats(mine) };
    for (const ph of [...new Set(mine.map((s) => s.phase))].sort()) out[svc]![ph] = stats(mine.filter((s) => s.phase === ph));
  }
  return out;
}

/** Stats per service between two instants (a fault: inject → heal). */
export function servicesBetween(samples: readonly ServiceSample[], fromMs: number, toMs: number): Record<string, ServiceStats> {
  const inside = samples.filter((s) => s.at >= fromMs && s.at < toMs);
  return Object.fromEntries([...new Set(inside.map((s) => s.service))].sort().map((svc) => [svc, stats(inside.filter((s) => s.service === svc))]));
}

/**
 * Every service's figures for one fault window: `servicesBetween`'s stats plus, per service, the failover figures
 * over its own per-second series. A service whose requests did not fill most seconds before the fault (orghub: a
 * login now and then) would read as stalled in every empty second, so it is not timed (`note`); a steady one
 * (chat, session, tenanthub) that goes quiet during the fault is stalled, and is timed. Sparseness is judged from
 * the seconds before the inject, so a stall cannot excuse itself.
 */
export function serviceFaultFigures(samples: readonly ServiceSample[], w: FaultWindow, slo: Slo, holdS: number): Record<string, ServiceFaultStats> {
  const between = servicesBetween(samples, w.injectAt, w.healAt);
  const out: Record<string, ServiceFaultStats> = {};
  // every service of the run, also one that had no request end during the fault (stalled throughout)
  for (const svc of [...new Set(samples.map((s) => s.service))].sort()) {
    const st = between[svc] ?? { requests: 0, failed: 0, errorRate: null, p95Ms: null };
    const series = bucketize(samples.filter((s) => s.service === svc));
    const f = failoverFigures(series, w, slo, holdS);
    const during = samples.flatMap((s) => (s.service === svc && s.durationMs !== undefined && s.at >= w.injectAt && s.at < w.healAt ? [s.durationMs] : []));
    const before = series.buckets.filter((b) => (b.second + 1) * 1000 <= w.injectAt);
    const covered = before.filter((b) => b.requests > 0).length;
    const sparse = before.length === 0 || covered < MIN_COVERED_SHARE * before.length;
    out[svc] = {
      ...st,
      maxMs: during.length ? Math.max(...during) : null,
      longestErrorBurst: f.longestErrorBurst,
      failoverS: sparse ? null : f.failoverS,
      firstErrorOffsetS: f.firstErrorOffsetS,
      ...(sparse ? {} : { relapses: relapsesOf(series, w, slo, holdS) }),
      ...(sparse ? { note: `${before.length === 0 ? 'no requests' : `requests in ${covered} of ${before.length} s`} before the fault: too sparse to time a failover` } : {}),
    };
  }
  return out;
}

/** Whether a state timeline was true throughout [fromMs, toMs] (the state at fromMs included). */
function trueThroughout(tl: readonly StatePoint[] | undefined, fromMs: number, toMs: number): boolean {
  if (!tl?.length) return false;
  let state: boolean | undefined;
  for (const p of tl) {
    const t = Date.parse(p.t);
    if (t <= fromMs) state = p.ok;
    else if (t < toMs && !p.ok) return false;
  }
  return state === true;
}

/**
 * Outages: for each service, runs of at least `minSeconds` seconds in which it had requests and every one failed
 * (at least `minFailed` failures in the run). Each names the dbman nodes that were ready and serving throughout;
 * when there is one, the cause is inferred to be the service's own client (its endpoints set aside).
 */
export function serviceOutages(
  samples: readonly ServiceSample[],
  nodes: Record<string, { ready?: readonly StatePoint[]; serving?: readonly StatePoint[] }>,
  opts: { minSeconds?: number; minFailed?: number } = {},
): ServiceOutage[] {
  const minSeconds = opts.minSeconds ?? 1;
  const minFailed = opts.minFailed ?? 3;
  const out: ServiceOutage[] = [];
  for (const svc of [...new Set(samples.map((s) => s.service))].sort()) {
    const perSec = new Map<number, { n: number; failed: number }>();
    for (const s of samples) {
      if (s.service !== svc || s.failed === undefined) continue;
      const sec = Math.floor(s.at / 1000);
      const b = perSec.get(sec) ?? { n: 0, failed: 0 };
      b.n += 1;
      if (s.failed) b.failed += 1;
      perSec.set(sec, b);
    }
    const secs = [...perSec.keys()].sort((a, b) => a - b);
    let run: number[] = [];
    const flush = () => {
      const failed = run.reduce((sum, sec) => sum + perSec.get(sec)!.failed, 0);
      if (run.length >= minSeconds && failed >= minFailed) {
        const fromMs = run[0]! * 1000;
        const toMs = (run.at(-1)! + 1) * 1000;
        const healthyNodes = Object.entries(nodes)
          .filter(([, tl]) => trueThroughout(tl.ready, fromMs, toMs) && trueThroughout(tl.serving, fromMs, toMs))
          .map(([n]) => n);
        out.push({
          service: svc,
          start: new Date(fromMs).toISOString(),
          seconds: run.length,
          failed,
          healthyNodes,
          inference: healthyNodes.length
            ? `inferred: ${svc}'s dbman client had set every endpoint aside (every ${svc} request failed for ${run.length} s while ${healthyNodes.join(', ')} ${healthyNodes.length > 1 ? 'were' : 'was'} ready and serving; the client's state is not observed directly)`
            : `every ${svc} request failed for ${run.length} s while no dbman node was ready and serving throughout: the nodes, not the client`,
        });
      }
      run = [];
    };
    for (const sec of secs) {
      const b = perSec.get(sec)!;
      const allFailed = b.n > 0 && b.failed === b.n;
      if (allFailed && (run.length === 0 || run.at(-1)! === sec - 1)) run.push(sec);
      else {
        flush();
        if (allFailed) run.push(sec);
      }
    }
    flush();
  }
  return out;
}

/** The drill's threshold: a service taken down while dbman nodes were serving is a breach, named by service. */
export function judgeOutages(outages: readonly ServiceOutage[]): string[] {
  return outages
    .filter((o) => o.healthyNodes.length > 0)
    .map((o) => `service_outage{service:${o.service}}: none (observed: every request failed for ${o.seconds}s from ${o.start}, ${o.failed} failed; ${o.inference})`);
}

export function serviceFigures(samples: readonly ServiceSample[], nodes: Parameters<typeof serviceOutages>[1]): ServiceFigures {
  return { byPhase: servicesByPhase(samples), outages: serviceOutages(samples, nodes) };
}
