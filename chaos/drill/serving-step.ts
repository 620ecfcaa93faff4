/**
 * The drill's added figures, as steps around the existing ones: the serving watcher beside the readiness watcher,
 * then per fault the ready-but-failing spans and recovery to ready AND serving, the relapses, the per-service
 * stats during the fault, and over the whole drill the per-service view with its inferred outages; their
 * thresholds; and their lines in the printout. Pure except where a function says it reads.
 */
import type { FaultStep } from '../faults.js';
import type { Series } from '../figures.js';
import { judgeFaultRelapses, relapsesOf, type Relapse } from '../relapses.js';
import { judgeOutages, serviceFaultFigures, serviceFigures, type ServiceFaultStats, type ServiceFigures, type ServiceSample } from '../service-figures.js';
import { judgeServing, readyAndServingAt, servingFigures, type ReadyButFailingSpan, type ServingPoint } from './serving.js';
import type { DrillSlo } from './spec.js';
import type { StatePoint } from './timeline.js';

/** What the drill adds to each fault of drill.json. */
export interface FaultExtras {
  /** dbman node faults: heal → ready AND serving (null: never before the drill ended). */
  servingAfterHealS?: number | null;
  /** dbman node faults: the healed node's ready-but-failing spans (whole drill) and seconds of it after heal. */
  readyButFailing?: ReadyButFailingSpan[];
  readyButFailingAfterHealS?: number;
  /** Relapses between inject and heal: start (offset from inject) and length. */
  relapses?: Relapse[];
  /** Per service between inject and heal: requests, failures, p95, max, longest error burst, failover time. */
  services?: Record<string, ServiceFaultStats>;
}

/** What the drill adds to drill.json as a whole. */
export interface DrillExtras {
  /** The serving probe and each dbman node's serving changes (250 ms grid). */
  servingProbe: { operation: string };
  serving: Record<string, ServingPoint[]>;
  /** Per service and phase, and the outages with their inferred cause. */
  services?: ServiceFigures;
}

export interface NodeTimelines {
  ready?: readonly StatePoint[];
  serving?: readonly StatePoint[];
}

/**
 * When the healed node was ready AND serving again (the recovery clock: figures.ts's nodeReadyAt). A node the
 * serving watcher does not probe (chat, redis) falls back to its readiness.
 */
export function recoveredAt(t: NodeTimelines, healAt: number, readyAt: number | null | undefined): number | null | undefined {
  if (!t.serving || !t.ready) return readyAt;
  return readyAndServingAt(t.ready, t.serving, healAt);
}

export function faultExtras(
  f: Pick<FaultStep, 'fault' | 'node'>,
  w: { injectAt: number; healAt: number; startMs: number; endMs: number },
  t: NodeTimelines,
  series: Series | undefined,
  samples: readonly ServiceSample[] | undefined,
  slo: DrillSlo,
): FaultExtras {
  const out: FaultExtras = {};
  if (t.ready && t.serving) {
    const s = servingFigures(t.ready, t.serving, { startMs: w.startMs, endMs: w.endMs, healAt: w.healAt });
    out.servingAfterHealS = s.servingAfterHealS;
    out.readyButFailing = s.spans;
    out.readyButFailingAfterHealS = s.afterHealS;
  }
  if (series) out.relapses = relapsesOf(series, w, slo, slo.holdS);
  if (samples) out.services = serviceFaultFigures(samples, { fault: f.fault, node: f.node, injectAt: w.injectAt, healAt: w.healAt }, slo, slo.holdS);
  return out;
}

/** The thresholds over the added figures (breaches, named like k6's). */
export function judgeExtras(faults: readonly (FaultExtras & { fault: string; node: string; error?: string })[], extras: Partial<DrillExtras> | undefined, slo: DrillSlo): string[] {
  const out: string[] = [];
  for (const f of faults) {
    if (f.error) continue;
    if (f.readyButFailingAfterHealS !== undefined) {
      out.push(...judgeServing(f.fault, f.node, { spans: f.readyButFailing ?? [], afterHealS: f.readyButFailingAfterHealS, servingAfterHealS: f.servingAfterHealS ?? null }, slo.maxReadyButFailingS));
    }
    if (f.fault !== 'latency' && f.fault !== 'bandwidth') out.push(...judgeFaultRelapses(f, slo));
  }
  if (extras?.services) out.push(...judgeOutages(extras.services.outages));
  return out;
}

export function drillServiceFigures(samples: readonly ServiceSample[], nodes: Record<string, NodeTimelines>): ServiceFigures {
  return serviceFigures(samples, nodes);
}

const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? '—' : `${v.toFixed(0)} ms`);

/** The printout's lines for one fault's added figures (indented under the fault's line). */
export function formatFaultExtras(f: FaultExtras): string[] {
  const lines: string[] = [];
  if (f.readyButFailing !== undefined) {
    lines.push(
      `    serving: ready AND serving ${f.servingAfterHealS === null || f.servingAfterHealS === undefined ? 'never' : `${f.servingAfterHealS}s`} after heal; ` +
        `ready but failing ${f.readyButFailing.length ? f.readyButFailing.map((s) => `${s.seconds}s from ${s.start}`).join(', ') : 'never'} (${f.readyButFailingAfterHealS ?? 0}s after heal)`,
    );
  }
  if (f.relapses) {
    lines.push(`    relapses: ${f.relapses.length ? f.relapses.map((r) => `${r.seconds}s at +${r.startOffsetS}s`).join(', ') : 'none'}`);
  }
  if (f.services && Object.keys(f.services).length) {
    lines.push('    per service during the fault:');
    for (const [svc, s] of Object.entries(f.services)) lines.push(`      ${formatServiceFault(svc, s)}`);
  }
  return lines;
}

/** One service's line under a fault: errors and latency during it, its longest error burst and its failover time. */
export function formatServiceFault(svc: string, s: ServiceFaultStats): string {
  const burst = s.longestErrorBurst ? `${s.longestErrorBurst.seconds}s (${s.longestErrorBurst.failed} failed)` : 'none';
  const failover = s.note ? `not timed (${s.note})` : s.failoverS === null ? '— (SLO not held before heal)' : `${s.failoverS}s`;
  const relapses = s.relapses?.length ? `, relapses ${s.relapses.map((r) => `${r.seconds}s at +${r.startOffsetS}s`).join(', ')}` : '';
  return `${svc}: ${s.failed}/${s.requests} failed (${pct(s.errorRate)}), p95 ${ms(s.p95Ms)} max ${ms(s.maxMs)}, longest error burst ${burst}, failover ${failover}${relapses}`;
}

/** The printout's lines for the whole drill's per-service view. */
export function formatServices(s: ServiceFigures | undefined): string[] {
  if (!s) return [];
  const lines = Object.entries(s.byPhase).map(
    ([svc, phases]) => `  service ${svc}: ${Object.entries(phases).filter(([p]) => p !== 'all').map(([p, st]) => `${p} ${st.failed}/${st.requests} failed, p95 ${ms(st.p95Ms)}`).join('; ')}`,
  );
  for (const o of s.outages) lines.push(`  OUTAGE ${o.service}: every request failed for ${o.seconds}s from ${o.start} (${o.failed} failed): ${o.inference}`);
  return lines;
}
