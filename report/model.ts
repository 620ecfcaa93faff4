/**
 * The report's data model: per-second series, totals, faults, readiness, thresholds and integrity, computed in
 * Node from a run directory. It is saved as `report-data.json` beside the report, so the index and `compare`
 * read figures without going through the raw output again.
 */
import { basename, resolve } from 'node:path';
import type { SetupSection } from '../runner/setup-section.js';
import { readRaw, type Histogram, type RateCount, type RawAggregate, type Totals } from './raw.js';
import { integrityCounts, readRunInputs, INTEGRITY_KEYS, type DrillFault, type RunInputs, type SummaryThreshold } from './inputs.js';

export const MODEL_VERSION = 1;

export interface ChartSeries {
  label: string;
  data: (number | null)[];
}
export interface ChartDef {
  id: string;
  title: string;
  unit: string;
  series: ChartSeries[];
}
export interface FaultBand {
  label: string;
  fault: string | null;
  node: string | null;
  /** Unix seconds (fractional). */
  inject: number | null;
  heal: number | null;
  failoverS: number | null;
  recoveryS: number | null;
  nodeReadyAfterHealS: number | null;
  requestsDuringFault: number | null;
  failedDuringFault: number | null;
  longestErrorBurstS: number | null;
  firstErrorOffsetS: number | null;
  /** The fault's own checks in one line: db-cut's readiness flip, a chat fault's WS reconnects (null: none). */
  checks: string | null;
  error: string | null;
}
export interface GroupStats {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  errorRate: number | null;
}
export interface PhaseStats {
  reqs: number;
  errorRate: number | null;
  p95: number | null;
  groups: Record<string, GroupStats>;
  rates: Record<string, number | null>;
}
export interface Headline {
  reqs: number;
  /** Percent of failed HTTP requests. */
  errorRate: number | null;
  p95: number | null;
  p99: number | null;
  durationS: number;
  faults: number;
  maxFailoverS: number | null;
  maxRecoveryS: number | null;
  lost: number | null;
  duplicates: number | null;
}
export interface ReportModel {
  version: number;
  runId: string;
  generatedAt: string;
  header: {
    verdict: string;
    kind: string | null;
    target: string;
    profile: string;
    k6Version: string;
    gitRevision: string;
    date: string;
    errors: string[];
  };
  /** Unix seconds, one per second from the first to the last second with data. */
  x: number[];
  charts: ChartDef[];
  faults: FaultBand[];
  readiness: { x: number[]; nodes: { node: string; data: (number | null)[] }[] } | null;
  thresholds: SummaryThreshold[];
  /** The drill's per-service view (drill.json `services`); null without a drill. */
  services: NonNullable<RunInputs['drill']>['services'] | null;
  /** What setup made and its failed calls (summary.json `setup`); null when the summary has none. */
  setup: SetupSection | null;
  integrity: Record<string, number | null> | null;
  integrityVerdict: string | null;
  /** What the integrity counts could have missed: judged, 95 % upper bound, target (lost, duplicates, undelivered). */
  integrityBounds: Record<string, { events: number; judged: number; upper95: number; target?: number; needed?: number | null }> | null;
  /** Lines on rooms that could not be verified, late messages, read-after-write misses. */
  integrityNotes: string[];
  totals: { all: PhaseStats; phases: Record<string, PhaseStats> };
  headline: Headline;
  raw: { file: string; lines: number; badLines: number; truncated: boolean; metrics: Record<string, string> };
}

function integrityNotes(inputs: RunInputs): string[] {
  const f = inputs.integrity;
  if (!f) return [];
  const out: string[] = [];
  for (const r of f.rooms ?? []) if (r.status === 'unverified') out.push(`unverified room ${r.room}: expected ${r.expected}, read ${r.readDefault} at ${r.pageSize} per page (${r.readAny} by any read): ${r.reason ?? ''}`);
  const lag = f.details?.lateLagMs;
  if (lag) out.push(`late messages became visible up to ${lag.max} ms (median ${lag.median} ms) after their acknowledgement`);
  const raw = f.details?.readAfterWrite;
  if (raw && raw.judged > 0) out.push(`read after write: ${raw.missed} of ${raw.judged} just-stored messages missing from the list read right after`);
  return out;
}

const pct = (r: RateCount | undefined) => (r && r.n > 0 ? (100 * r.sum) / r.n : null);
const q = (h: Histogram | undefined, p: number) => (h ? h.quantile(p) : null);
const round = (v: number | null, d = 3) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

function phaseStats(t: Totals): PhaseStats {
  const groups: Record<string, GroupStats> = {};
  const names = new Set([...t.durationByGroup.keys(), ...t.failedByGroup.keys()]);
  for (const g of [...names].sort()) {
    const h = t.durationByGroup.get(g);
    groups[g] = {
      count: h?.count ?? t.failedByGroup.get(g)?.n ?? 0,
      p50: round(q(h, 0.5)),
      p95: round(q(h, 0.95)),
      p99: round(q(h, 0.99)),
      errorRate: round(pct(t.failedByGroup.get(g)), 4),
    };
  }
  const rates: Record<string, number | null> = {};
  for (const [name, r] of [...t.rates].sort()) rates[name] = round(pct(r), 4);
  return { reqs: t.reqs, errorRate: round(pct(t.failed), 4), p95: round(q(t.duration, 0.95)), groups, rates };
}

/** Builds the chart series from the per-second buckets. */
function buildCharts(agg: RawAggregate, x: number[]): ChartDef[] {
  const buckets = x.map((s) => agg.seconds.get(s));
  const groups = [...agg.total.durationByGroup.keys(), ...agg.total.failedByGroup.keys()]
    .filter((g, i, a) => a.indexOf(g) === i)
    .sort();
  const charts: ChartDef[] = [];
  const sum = (m: Map<string, number> | undefined) => (m ? [...m.values()].reduce((a, b) => a + b, 0) : 0);

  charts.push({
    id: 'req-rate',
    title: 'Request rate',
    unit: 'req/s',
    series: [
      { label: 'all', data: buckets.map((b) => (b ? sum(b.reqs) : 0)) },
      ...groups.map((g) => ({ label: g, data: buckets.map((b) => b?.reqs.get(g) ?? 0) })),
    ],
  });

  const errSeries: ChartSeries[] = [
    {
      label: 'http all',
      data: buckets.map((b) => {
        if (!b || b.failed.size === 0) return null;
        let n = 0;
        let s = 0;
        for (const r of b.failed.values()) {
          n += r.n;
          s += r.sum;
        }
        return round((100 * s) / n, 3);
      }),
    },
    ...groups.map((g) => ({ label: `http ${g}`, data: buckets.map((b) => round(pct(b?.failed.get(g)), 3)) })),
  ];
  // The scenarios' rate metrics: fan-out ratios get their own chart; the others show their failure share here
  // (100 % - rate for success-type rates such as message_store_success; the rate itself when named *fail*/*error*).
  const rateNames = [...agg.total.rates.keys()].sort();
  for (const name of rateNames.filter((n) => !/fanout/.test(n))) {
    const badIsTrue = /fail|error/.test(name);
    errSeries.push({
      label: badIsTrue ? name : `${name} not ok`,
      data: buckets.map((b) => {
        const r = b?.rates.get(name);
        if (!r || r.n === 0) return null;
        const share = (100 * r.sum) / r.n;
        return round(badIsTrue ? share : 100 - share, 3);
      }),
    });
  }
  charts.push({ id: 'error-rate', title: 'Error rate', unit: '%', series: errSeries });

  for (const g of groups) {
    if (!agg.total.durationByGroup.has(g)) continue;
    charts.push({
      id: `latency-${g}`,
      title: `Latency: ${g}`,
      unit: 'ms',
      series: [0.5, 0.95, 0.99].map((p) => ({
        label: `p${Math.round(p * 100)}`,
        data: buckets.map((b) => round(q(b?.duration.get(g), p))),
      })),
    });
  }

  // The scenarios' own trends (WS delivery and fan-out latency, store latency over REST and WS).
  const trendNames = [...agg.total.trends.keys()].sort((a, b) => Number(!a.startsWith('ws_')) - Number(!b.startsWith('ws_')) || a.localeCompare(b));
  for (const name of trendNames) {
    charts.push({
      id: `trend-${name}`,
      title: name.startsWith('ws_') ? `WS: ${name}` : name,
      unit: 'ms',
      series: [0.5, 0.95, 0.99].map((p) => ({
        label: `p${Math.round(p * 100)}`,
        data: buckets.map((b) => round(q(b?.trends.get(name), p))),
      })),
    });
  }

  const fanout = rateNames.filter((n) => /fanout/.test(n));
  if (fanout.length > 0) {
    charts.push({
      id: 'ws-fanout',
      title: 'WS fan-out ratio (delivered share)',
      unit: '%',
      series: fanout.map((name) => ({
        label: name,
        data: buckets.map((b) => round(pct(b?.rates.get(name)), 3)),
      })),
    });
  }

  const counters = [...agg.total.counters.keys()].sort();
  if (counters.length > 0) {
    charts.push({
      id: 'counters',
      title: 'Problem counters',
      unit: 'per s',
      series: counters.map((name) => ({ label: name, data: buckets.map((b) => b?.counters.get(name) ?? 0) })),
    });
  }

  // Active VUs: the gauge is sampled about once a second; carry the last value over seconds without a sample.
  let last: number | null = null;
  charts.push({
    id: 'vus',
    title: 'Active VUs',
    unit: 'VUs',
    series: [{ label: 'vus', data: buckets.map((b) => (b?.vus !== null && b?.vus !== undefined ? (last = b.vus) : last)) }],
  });
  return charts;
}

/** Readiness as step series on their own x (every change, plus the run's ends so the last state carries on). */
const secs = (v: number | null | undefined) => (typeof v === 'number' ? `${v} s` : 'never');
const ms = (v: number | null | undefined) => (typeof v === 'number' ? `${v} ms` : '–');
const rounded = (v: number | null | undefined) => (typeof v === 'number' ? Math.round(v) : v);

/** The figures a fault has beyond failover and recovery, as one line for the faults table. */
export function faultChecks(f: Partial<Pick<DrillFault, 'dbCut' | 'ws' | 'readyButFailing' | 'readyButFailingAfterHealS' | 'servingAfterHealS' | 'relapses' | 'services'>>): string | null {
  const parts: string[] = [];
  if (f.readyButFailing) {
    parts.push(
      `ready AND serving ${secs(f.servingAfterHealS)} after heal; ready but failing ${f.readyButFailing.length ? f.readyButFailing.map((x) => `${x.seconds} s`).join(', ') : 'never'} (${f.readyButFailingAfterHealS ?? 0} s after heal)`,
    );
  }
  if (f.relapses) parts.push(`relapses: ${f.relapses.length ? f.relapses.map((r) => `${r.seconds} s at +${r.startOffsetS} s`).join(', ') : 'none'}`);
  if (f.dbCut) {
    const d = f.dbCut;
    parts.push(
      `ready flip ${secs(d.readyFlipS)}, live ${d.liveStayedUp === true ? 'up throughout' : d.liveStayedUp === false ? 'DOWN' : 'not watched'}, ready back ${secs(d.readyBackS)}` +
        (d.balancerOutS !== undefined || d.balancerBackS !== undefined ? `, balancer out ${secs(d.balancerOutS)} / back ${secs(d.balancerBackS)}` : ''),
    );
  }
  if (f.ws) {
    const w = f.ws;
    parts.push(`WS: ${w.reconnects ?? 0} reconnects, p50 ${ms(w.reconnectP50Ms)}, p95 ${ms(w.reconnectP95Ms)}, max ${ms(w.reconnectMaxMs)}, ${w.missedMessages ?? 0} missed`);
  }
  // each service's own view of the fault (its dbman client fails over on its own)
  for (const [svc, v] of Object.entries(f.services ?? {})) {
    const burst = v.longestErrorBurst ? `burst ${v.longestErrorBurst.seconds ?? 0} s (${v.longestErrorBurst.failed ?? 0} failed)` : 'no errors';
    const failover = v.note ? ', failover not timed' : v.failoverS === undefined ? '' : `, failover ${v.failoverS === null ? 'not before heal' : `${v.failoverS} s`}`;
    parts.push(`${svc}: ${v.failed}/${v.requests} failed, ${burst}, p95 ${ms(rounded(v.p95Ms))}, max ${ms(rounded(v.maxMs))}${failover}`);
  }
  return parts.length ? parts.join('; ') : null;
}

function buildReadiness(inputs: RunInputs, ends: number[]): ReportModel['readiness'] {
  const r = inputs.drill?.readiness;
  if (!r || Object.keys(r).length === 0) return null;
  const nodes = Object.keys(r).sort();
  const times = new Set<number>(ends);
  for (const n of nodes) for (const p of r[n] ?? []) if (p.t !== null) times.add(p.t / 1000);
  const x = [...times].sort((a, b) => a - b);
  return {
    x,
    nodes: nodes.map((node) => {
      const pts = (r[node] ?? []).filter((p) => p.t !== null).sort((a, b) => (a.t ?? 0) - (b.t ?? 0));
      let i = 0;
      let state: number | null = null;
      return {
        node,
        data: x.map((t) => {
          while (i < pts.length && (pts[i]!.t ?? 0) / 1000 <= t) state = pts[i++]!.ready ? 1 : 0;
          return state;
        }),
      };
    }),
  };
}

/** Reads a run directory and computes the report model. */
export async function buildModel(runDir: string): Promise<ReportModel> {
  const dir = resolve(runDir);
  const inputs = readRunInputs(dir);
  const agg = await readRaw(inputs.rawPath);
  const x: number[] = [];
  if (agg.start !== null && agg.end !== null) for (let s = agg.start; s <= agg.end; s++) x.push(s);
  const s = inputs.summary;
  const faults: FaultBand[] = (inputs.drill?.faults ?? []).map((f) => ({
    label: f.label,
    fault: f.fault ?? f.kind ?? null,
    node: f.node ?? null,
    inject: f.inject === null ? null : f.inject / 1000,
    heal: f.heal === null ? null : f.heal / 1000,
    failoverS: f.failover ?? null,
    recoveryS: f.recovery ?? null,
    nodeReadyAfterHealS: f.nodeReadyAfterHealS ?? null,
    requestsDuringFault: f.requestsDuringFault ?? null,
    failedDuringFault: f.failedDuringFault ?? null,
    longestErrorBurstS: f.longestErrorBurst?.seconds ?? null,
    firstErrorOffsetS: f.firstErrorOffsetS ?? null,
    checks: faultChecks(f),
    error: f.error ?? null,
  }));
  const all = phaseStats(agg.total);
  const phases: Record<string, PhaseStats> = {};
  for (const [p, t] of [...agg.byPhase].sort()) phases[p] = phaseStats(t);
  const integrity = inputs.integrity ? integrityCounts(inputs.integrity) : null;
  const maxOf = (vals: (number | null)[]) => {
    const v = vals.filter((n): n is number => typeof n === 'number');
    return v.length ? Math.max(...v) : null;
  };
  const metrics: Record<string, string> = {};
  for (const [k, v] of [...agg.metricTypes].sort()) metrics[k] = v;
  const target = s?.target;
  const anyThresholdFailed = (s?.thresholds ?? []).some((t) => t.result === 'fail');
  return {
    version: MODEL_VERSION,
    runId: s?.runId ?? basename(dir),
    generatedAt: new Date().toISOString(),
    header: {
      verdict: s?.verdict ?? (anyThresholdFailed ? 'fail' : 'unknown'),
      kind: s?.kind ?? (inputs.drill ? 'drill' : null),
      target: target
        ? `${target.name ?? 'target'}${target.chatUrl ? ` (${target.chatUrl})` : ''}${target.flaws?.length ? ` flaws: ${target.flaws.join(', ')}` : ''}`
        : 'unknown',
      profile: s?.profile ?? 'unknown',
      k6Version: s?.k6Version ?? 'unknown',
      gitRevision: s?.gitRevision ?? 'unknown',
      date: s?.startedAt ?? (agg.start !== null ? new Date(agg.start * 1000).toISOString() : 'unknown'),
      errors: s?.errors ?? [],
    },
    x,
    charts: buildCharts(agg, x),
    faults,
    readiness: buildReadiness(inputs, [
      ...(agg.start !== null && agg.end !== null ? [agg.start, agg.end] : []),
      ...faults.flatMap((f) => [f.inject, f.heal].filter((t): t is number => t !== null)),
    ]),
    thresholds: s?.thresholds ?? [],
    setup: s?.setup ?? null,
    services: inputs.drill?.services ?? null,
    integrity: integrity ? Object.fromEntries(INTEGRITY_KEYS.map((k) => [k, integrity[k]])) : null,
    integrityVerdict: inputs.integrity?.verdict ?? null,
    integrityBounds: inputs.integrity?.bounds ?? null,
    integrityNotes: integrityNotes(inputs),
    totals: { all, phases },
    headline: {
      reqs: agg.total.reqs,
      errorRate: all.errorRate,
      p95: all.p95,
      p99: round(q(agg.total.duration, 0.99)),
      durationS: x.length,
      faults: faults.length,
      maxFailoverS: maxOf(faults.map((f) => f.failoverS)),
      maxRecoveryS: maxOf(faults.map((f) => f.recoveryS)),
      lost: integrity?.lost ?? null,
      duplicates: integrity?.duplicates ?? null,
    },
    raw: { file: basename(inputs.rawPath), lines: agg.lines, badLines: agg.badLines, truncated: agg.truncated, metrics },
  };
}

export { readRunInputs };
