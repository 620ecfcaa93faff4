/**
 * The drill's judgement over its figures (its own thresholds, named like k6's) and the figures as terminal lines.
 */
import { judgeDbCut } from '../health-figures.js';
import { judgeReconnects } from '../ws-figures.js';
import type { DrillFault, DrillReport } from './report.js';
import { formatFaultExtras, formatServices, judgeExtras, type DrillExtras, type FaultExtras } from './serving-step.js';
import type { DrillSpec } from './spec.js';

/**
 * The drill's own thresholds over the figures, named like k6's, for faults that take a node away (stop, kill,
 * pause, restart, partition, reset, db-cut): fault phase, failover done within maxFailoverS; recovery phase, node
 * ready and SLO held within maxRecoveryS of heal. A db-cut also by its readiness flip, liveness and readiness back
 * (judgeDbCut); a fault on a chat instance also by its WS reconnects (judgeReconnects: none seen is a breach).
 * Returns the breaches (empty: all held).
 */
export function judgeFigures(faults: DrillFault[], slo: DrillSpec['slo']): string[] {
  const out: string[] = [];
  for (const f of faults) {
    if (f.error) continue;
    if (f.fault === 'db-cut') out.push(...judgeDbCut(f.node, f.dbCut ?? { readyFlipS: null, liveStayedUp: null, readyBackS: null }, slo));
    if (f.ws) out.push(...judgeReconnects(f.fault, f.node, f.ws, slo.maxReconnectP95Ms));
    // A slow link (latency, bandwidth) below the client timeout is never set aside: there is no failover to time,
    // only the per-phase thresholds judge it. Faults that take a node away must fail over.
    if (f.fault === 'latency' || f.fault === 'bandwidth') continue;
    const who = `{phase:fault,fault:${f.fault},node:${f.node}}`;
    if (f.failoverS === null || (f.failoverS !== undefined && f.failoverS > slo.maxFailoverS)) {
      out.push(`failover_time${who}: <=${slo.maxFailoverS}s (observed ${f.failoverS === null ? 'SLO never held ' + slo.holdS + ' s before heal' : `${f.failoverS}s`})`);
    }
    const rwho = `{phase:recovery,fault:${f.fault},node:${f.node}}`;
    if (f.recoveryS === null || (f.recoveryS !== undefined && f.recoveryS > slo.maxRecoveryS)) {
      out.push(`recovery_time${rwho}: <=${slo.maxRecoveryS}s (observed ${f.recoveryS === null ? 'node not ready or SLO not held before the load ended' : `${f.recoveryS}s`})`);
    }
  }
  // ready but failing after heal, relapses (serving-step.ts)
  out.push(...judgeExtras(faults, undefined, slo));
  return out;
}

const fmt = (v: number | null | undefined, unit = 's') =>
  v === null || v === undefined ? '—' : `${unit === ' ms' ? v.toFixed(1) : v}${unit}`;

/** The failover figures as a few lines for the terminal (with the serving, relapse and per-service figures when present). */
export function formatFigures(r: DrillReport & Partial<DrillExtras>): string {
  const lines = [
    `failover figures (a good second: error rate <= ${r.slo.errorRate}, p95 <= ${r.slo.p95Ms} ms; held ${r.slo.holdS} s; ` +
      `limits: failover <= ${r.slo.maxFailoverS} s, recovery (ready AND serving, SLO held) <= ${r.slo.maxRecoveryS} s, ready flip <= ${r.slo.maxReadyFlipS} s, ` +
      `reconnect p95 <= ${r.slo.maxReconnectP95Ms} ms, ready but failing after heal <= ${r.slo.maxReadyButFailingS} s, ` +
      `relapses longer than ${r.slo.maxRelapseS} s <= ${r.slo.maxRelapses}):`,
  ];
  for (const f of r.faults as (DrillFault & FaultExtras)[]) {
    if (f.error) {
      lines.push(`  ${f.fault} ${f.node}: ${f.error}`);
      continue;
    }
    lines.push(
      `  ${f.fault} ${f.node} (${f.driver}) inject ${f.injectAt} heal ${f.healAt}: failover ${fmt(f.failoverS)}${f.impactSeen === false ? ' (no impact seen)' : ''}, ` +
        `${f.relapseSeconds ? `${f.relapseSeconds} bad s after failover, ` : ''}recovery ${fmt(f.recoveryS)} (node ready ${fmt(f.nodeReadyAfterHealS)} after heal), failed during fault ${f.failedDuringFault ?? '—'}/${f.requestsDuringFault ?? '—'}, ` +
        `longest error burst ${f.longestErrorBurst ? `${f.longestErrorBurst.seconds}s (${f.longestErrorBurst.failed} failed)` : 'none'}, ` +
        `first error ${f.firstErrorOffsetS === null || f.firstErrorOffsetS === undefined ? 'none' : `${f.firstErrorOffsetS}s after inject`}`,
    );
    if (f.dbCut) {
      const c = f.dbCut;
      lines.push(
        `    readiness: not-ready ${c.readyFlipS === null ? 'never (before heal)' : `${c.readyFlipS}s after inject`}, live ${c.liveStayedUp === null ? 'no samples' : c.liveStayedUp ? '200 throughout' : 'DOWN during the fault'}, ` +
          `ready again ${fmt(c.readyBackS)} after heal` +
          (c.balancerOutS === undefined ? '' : `; balancer took it out ${c.balancerOutS === null ? 'never' : `${c.balancerOutS}s after inject`}, back ${c.balancerBackS === null ? '—' : `${c.balancerBackS}s after heal`}`),
      );
    }
    lines.push(...formatFaultExtras(f));
    if (f.ws) {
      const w = f.ws;
      lines.push(
        w.reconnectSamples === 0
          ? `    WS: no reconnect samples (${w.reconnects} reconnects), ${w.missedMessages} messages missed`
          : `    WS: ${w.reconnects} reconnects, reconnect time p50 ${fmt(w.reconnectP50Ms, ' ms')} p95 ${fmt(w.reconnectP95Ms, ' ms')} max ${fmt(w.reconnectMaxMs, ' ms')}, ${w.missedMessages} messages missed`,
      );
    }
  }
  for (const [phase, p] of Object.entries(r.phases)) {
    const w = r.ws[phase];
    lines.push(
      `  phase ${phase}: ${p.requests} requests, ${p.failed} failed, p95 ${fmt(p.p95Ms, ' ms')}, p99 ${fmt(p.p99Ms, ' ms')}` +
        (w ? `; fan-out p95 ${fmt(w.fanoutP95Ms, ' ms')} (${w.fanoutSamples}), delivery ${w.deliveryRatio === null ? '—' : `${(w.deliveryRatio * 100).toFixed(2)}%`} (${w.deliverySamples}), WS reconnects ${w.reconnects}, missed ${w.missedMessages}${w.publisherSlots ? `, hot-room publishers sent ${w.publisherSlots - w.publisherSkipped} of ${w.publisherSlots} scheduled messages` : ''}` : ''),
    );
  }
  lines.push(...formatServices(r.services));
  lines.push(`drill verdict: ${r.verdict.toUpperCase()}${r.breached.length ? ` — ${r.breached.join('; ')}` : ''}`);
  return lines.join('\n');
}
