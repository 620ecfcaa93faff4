/**
 * The per-fault checkers (Jepsen's checker, one per kind of evidence): each says which faults it applies to and
 * adds its figures to the fault's DrillFault entry. A new probe or watcher adds a checker to FAULT_CHECKERS; the
 * drill's judgement over the figures is judge.ts.
 */
import type { TargetFile } from '../../runner/target-file.js';
import type { FaultStep } from '../faults.js';
import { isChatInstance } from '../fault-targets.js';
import { failoverFigures, type Series } from '../figures.js';
import { dbCutFigures } from '../health-figures.js';
import type { LedgerFault } from '../ledger.js';
import { reconnectFigures, type WsSample } from '../ws-figures.js';
import type { StatePoint } from './timeline.js';
import type { ServiceSample } from '../service-figures.js';
import { faultExtras, recoveredAt } from './serving-step.js';
import { plannedFault, type DrillFault } from './report.js';
import type { DrillSpec } from './spec.js';

/** What the drill saw of the whole run: k6's samples and the watchers' timelines. */
export interface DrillEvidence {
  target: TargetFile;
  slo: DrillSpec['slo'];
  /** Per-second request buckets from k6's raw output (undefined: no raw output). */
  series?: Series;
  /** The WS samples from k6's raw output (undefined: no raw output). */
  wsSamples?: WsSample[];
  readiness: {
    states(node: string): { ready?: StatePoint[]; live?: StatePoint[] };
    readyAtOrAfter(node: string, fromMs: number): number | null | undefined;
  };
  /** The dbman balancer's view (dbman-lb topology only). */
  balancer?: { states(node: string): StatePoint[] | undefined };
  /** The serving probe's view of each dbman node (chaos/drill/serving.ts). */
  serving?: { states(node: string): StatePoint[] | undefined };
  /** Request samples by service (chaos/service-figures.ts; undefined: no raw output). */
  serviceSamples?: ServiceSample[];
}

/** One injected fault, with the ledger's real times (epoch ms). */
export interface InjectedFault {
  step: FaultStep;
  /** When the driver applied it. */
  injectAt: number;
  /** When it was healed (the end of the run when it never was). */
  healAt: number;
  /** The ledger's intent time (written just before the driver acts). */
  intentAt: number;
  /** The next fault's intent time, Infinity for the last one. */
  nextIntentAt: number;
}

export interface FaultChecker {
  name: string;
  appliesTo(f: InjectedFault, e: DrillEvidence): boolean;
  figures(f: InjectedFault, e: DrillEvidence): Partial<DrillFault>;
}

/**
 * Every fault, with k6's samples: failover (SLO held again) and recovery (node ready AND serving when the serving
 * probe watches it, else ready; SLO held after heal).
 */
export const failoverChecker: FaultChecker = {
  name: 'failover',
  appliesTo: (_f, e) => e.series !== undefined,
  figures: ({ step, injectAt, healAt }, e) => {
    const readyAt = e.readiness.readyAtOrAfter(step.node, healAt);
    const nodeReadyAt = recoveredAt({ ready: e.readiness.states(step.node).ready, serving: e.serving?.states(step.node) }, healAt, readyAt);
    const f = failoverFigures(e.series!, { fault: step.fault, node: step.node, injectAt, healAt, nodeReadyAt }, e.slo, e.slo.holdS);
    // nodeReadyAfterHealS stays readiness alone (servingAfterHealS is the serving checker's)
    const ready = readyAt === undefined || readyAt === null ? null : Math.max(0, Math.round((readyAt - healAt) / 100) / 10);
    return { ...f, nodeReadyAfterHealS: ready };
  },
};

/** A dbman node: ready-but-failing spans and heal → ready AND serving (serving.ts). */
export const servingChecker: FaultChecker = {
  name: 'serving',
  appliesTo: (f, e) => e.serving?.states(f.step.node) !== undefined && e.readiness.states(f.step.node).ready !== undefined,
  figures: ({ step, injectAt, healAt }, e) => {
    const x = faultExtras(step, { injectAt, healAt, startMs: 0, endMs: Date.now() }, { ready: e.readiness.states(step.node).ready, serving: e.serving!.states(step.node) }, undefined, undefined, e.slo);
    return x as Partial<DrillFault>;
  },
};

/** Every fault, with k6's samples: relapses (relapses.ts) and the per-service stats between inject and heal. */
export const relapseChecker: FaultChecker = {
  name: 'relapses, per service',
  appliesTo: (_f, e) => e.series !== undefined,
  figures: ({ step, injectAt, healAt }, e) => faultExtras(step, { injectAt, healAt, startMs: 0, endMs: 0 }, {}, e.series, e.serviceSamples, e.slo) as Partial<DrillFault>,
};

/** A db-cut: the node's readiness flip, liveness, readiness back (and the balancer's view). */
export const dbCutChecker: FaultChecker = {
  name: 'db-cut',
  appliesTo: (f) => f.step.fault === 'db-cut',
  figures: ({ step, injectAt, healAt }, e) => ({
    dbCut: dbCutFigures({ injectAt, healAt }, { ...e.readiness.states(step.node), balancer: e.balancer?.states(step.node) }),
  }),
};

/**
 * A fault on a chat instance: the WS clients' reconnects from the fault's intent time to the next fault's (a
 * killed instance's clients may reconnect before the driver returns and the `applied` time is taken).
 */
export const reconnectChecker: FaultChecker = {
  name: 'ws reconnects',
  appliesTo: (f, e) => isChatInstance(e.target, f.step.node) && e.wsSamples !== undefined,
  figures: (f, e) => ({ ws: reconnectFigures(e.wsSamples!, f.intentAt, f.nextIntentAt) }),
};

/** In this order: their figures land in drill.json in this order. */
export const FAULT_CHECKERS: readonly FaultChecker[] = [failoverChecker, dbCutChecker, reconnectChecker, servingChecker, relapseChecker];

/**
 * One DrillFault per scheduled fault: planned fields, then (when injected) the ledger's id and driver, every
 * applying checker's figures, and the real inject and heal times; `error: 'not injected'` otherwise, with the
 * reason when the load ended before the fault's time (k6 stopped early, e.g. on the "target plainly down" abort
 * thresholds the verdict then names).
 */
export function faultEntries(o: {
  faults: readonly FaultStep[];
  /** This run's faults in the ledger. */
  runFaults: readonly LedgerFault[];
  /** Fault index → ledger id of its inject. */
  injected: ReadonlyMap<number, string>;
  evidence: DrillEvidence;
  checkers?: readonly FaultChecker[];
  now?: number;
  /** When k6 ended, in seconds after the load started, and its exit code (unset: not known). */
  loadEnd?: { atS: number; exitCode: number | null };
}): DrillFault[] {
  const checkers = o.checkers ?? FAULT_CHECKERS;
  const now = o.now ?? Date.now();
  const intentTimes = o.runFaults.map((x) => x.inject.at);
  return o.faults.map((step, i) => {
    const lf = o.runFaults.find((x) => x.inject.id === o.injected.get(i));
    const base = plannedFault(step);
    if (!lf) return { ...base, error: notInjected(step, o.loadEnd) };
    const f: InjectedFault = {
      step,
      injectAt: lf.injectedAt,
      healAt: lf.healedAt ?? now,
      intentAt: lf.inject.at,
      nextIntentAt: Math.min(...intentTimes.filter((t) => t > lf.inject.at), Infinity),
    };
    const figures = checkers.filter((c) => c.appliesTo(f, o.evidence)).map((c) => c.figures(f, o.evidence));
    return {
      ...base,
      id: lf.inject.id,
      driver: lf.inject.driver,
      ...Object.assign({}, ...figures),
      injectAt: new Date(f.injectAt).toISOString(),
      healAt: new Date(f.healAt).toISOString(),
    };
  });
}

/** Why a scheduled fault has no entry in the ledger, as far as the drill can tell. */
function notInjected(step: FaultStep, loadEnd: { atS: number; exitCode: number | null } | undefined): string {
  if (!loadEnd || step.at < loadEnd.atS) return 'not injected';
  const exit = loadEnd.exitCode === null ? 'stopped by a signal' : `exit ${loadEnd.exitCode}`;
  return `not injected: k6 ended ${loadEnd.atS.toFixed(1)} s after the load started (${exit}), before the fault's time (${step.at} s)`;
}
