/**
 * What a drill writes: `reports/<run-id>/drill.json` (DrillReport), one DrillFault per scheduled fault. Types and
 * the pure pieces that fill them; the drill's steps (run.ts), its judgement (judge.ts) and the HTML report read them.
 */
import type { PromotionFigures } from '../sentinel.js';
import type { PgRecoveryFigures, ResumeFigures } from '../data-tier.js';
import type { SlowConsumerFigures } from '../slow-figures.js';
import type { RunSummary } from '../../runner/summary.js';
import type { FailoverFigures, PhaseStats } from '../figures.js';
import type { DbCutFigures } from '../health-figures.js';
import type { ReconnectFigures, WsPhaseFigures } from '../ws-figures.js';
import type { BalancerPoint } from './balancer.js';
import type { DrillSpec } from './spec.js';
import type { Check, LivenessPoint, ReadinessPoint } from './steady.js';
import type { DrillExtras, FaultExtras } from './serving-step.js';

export const DRILL_FILE = 'drill.json';

export interface DrillFault extends Partial<FailoverFigures>, FaultExtras {
  /** db-cut: the node's readiness flip, liveness, readiness back (and the balancer's view in the dbman-lb topology). */
  dbCut?: DbCutFigures;
  /** A fault on a chat instance: the WS clients' reconnects from inject to the next fault (or the end). */
  ws?: ReconnectFigures;
  /** A fault that takes Redis away: per room active before, the time from Redis back to its first fan-out delivery. */
  resume?: ResumeFigures;
  /** A fault on PostgreSQL: per dbman node ready and serving again, the first store, the recovery time. */
  pgRecovery?: PgRecoveryFigures;
  /** A fault on the primary of a Redis behind Sentinel: promotion time, fan-out gap and resume per room, undelivered. */
  sentinel?: PromotionFigures & { undelivered?: number };
  id?: string;
  fault: string;
  node: string;
  driver?: string;
  plannedAtS: number;
  plannedForS: number;
  injectAt?: string;
  healAt?: string;
  error?: string;
}

export interface DrillReport {
  runId: string;
  name?: string;
  profile: string;
  durationS: number;
  slo: DrillSpec['slo'];
  faultWindows: [number, number][];
  target: RunSummary['target'];
  ledger: string;
  loadStartedAt?: string;
  steadyState: Check[];
  faults: DrillFault[];
  phases: Record<string, PhaseStats>;
  /** Per phase: hot-room fan-out p95 and delivery ratio, WS reconnects and messages missed. */
  ws: Record<string, WsPhaseFigures>;
  /** dbman /health/ready and chat /health, polled every 250 ms: the changes per component. */
  readiness: Record<string, ReadinessPoint[]>;
  /** dbman /health/live, polled every 250 ms: the changes per node. */
  liveness: Record<string, LivenessPoint[]>;
  /** dbman-lb topology: when the balancer had each node in traffic (its stats page, polled every 500 ms). */
  balancer?: { name: string; nodes: Record<string, BalancerPoint[]>; lastError?: string };
  /** Slow-consumer drills: healthy vs slow fan-out per phase, the slow subscribers' fate, the bytes the span pushed. */
  slowConsumers?: SlowConsumerFigures;
  /** Checks after the load: every node ready again. */
  after: Check[];
  verdict: 'pass' | 'fail';
  /** Breached thresholds by name (with their phase tag) and drill errors. */
  breached: string[];
  errors: string[];
  /** The serving probe and each dbman node's serving changes; the per-service view (serving-step.ts). */
  servingProbe?: DrillExtras['servingProbe'];
  serving?: DrillExtras['serving'];
  services?: DrillExtras['services'];
  /** The app services' client settings the fault windows were sized from, and the warnings for shorter ones. */
  faultWindowSizing?: { settings: { timeoutMs: number; failThreshold: number; cooldownMs: number }; source: string; cycleS: number; neededS: number; warnings: string[] };
}

/** The planned part of a fault's entry (what the spec asked for), before it is injected. */
export function plannedFault(f: DrillSpec['faults'][number]): DrillFault {
  return { fault: f.fault, node: f.node, plannedAtS: f.at, plannedForS: f.for };
}

/** The report as the steady-state check leaves it: planned faults, nothing measured yet, verdict fail. */
export function initialReport(o: {
  runId: string;
  spec: DrillSpec;
  windows: [number, number][];
  target: RunSummary['target'];
  ledgerPath: string;
  steadyState: Check[];
  errors: string[];
}): DrillReport {
  const { spec } = o;
  return {
    runId: o.runId,
    name: spec.name,
    profile: spec.profile,
    durationS: spec.durationS,
    slo: spec.slo,
    faultWindows: o.windows,
    target: o.target,
    ledger: o.ledgerPath,
    steadyState: o.steadyState,
    faults: spec.faults.map(plannedFault),
    phases: {},
    ws: {},
    readiness: {},
    liveness: {},
    after: [],
    verdict: 'fail',
    breached: [],
    errors: o.errors,
  };
}

/** The breaches the drill reports: every threshold that did not pass (with its observed value), then the run errors. */
export function breachedOf(summary: Pick<RunSummary, 'thresholds' | 'errors'>): string[] {
  return [
    ...summary.thresholds
      .filter((t) => t.result !== 'pass')
      .map((t) => `${t.name} (${t.observed === null ? 'no samples' : `observed ${Number(t.observed.toPrecision(4))}`}${t.result === 'unverified' ? `; unverified: ${t.reason ?? 'the figure cannot be trusted'}` : ''})`),
    ...summary.errors,
  ];
}
