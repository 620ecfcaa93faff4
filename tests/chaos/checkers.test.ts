// The drill's per-fault checkers (chaos/drill/checkers.ts) and the pure pieces of its report (report.ts): which
// checker applies to which fault, the figures each adds (over synthetic series, timelines and WS samples), a
// fault never injected, the breaches as drill.json lists them. Pure, milliseconds.
import { describe, expect, it } from 'vitest';
import { dbCutChecker, FAULT_CHECKERS, faultEntries, failoverChecker, reconnectChecker, relapseChecker, servingChecker, type DrillEvidence, type FaultChecker } from '../../chaos/drill/checkers.js';
import { breachedOf } from '../../chaos/drill/report.js';
import { DrillSlo } from '../../chaos/drill/spec.js';
import type { StatePoint } from '../../chaos/drill/timeline.js';
import { FaultStep } from '../../chaos/faults.js';
import { bucketize, type RequestSample } from '../../chaos/figures.js';
import type { LedgerFault } from '../../chaos/ledger.js';
import { WS_METRICS, type WsSample } from '../../chaos/ws-figures.js';
import { paperTarget } from './helpers.js';

const T0 = Date.parse('2026-11-30T22:00:00.000Z');
const s = (sec: number) => T0 + sec * 1000;
const iso = (sec: number) => new Date(s(sec)).toISOString();
const SLO = DrillSlo.parse({});
const target = paperTarget({ dbman: ['dbman-1', 'dbman-2'], chat: ['chat-1'] });

/** 30 s of 10 requests a second; every request fails in seconds 5 and 6 (the kill), then all is good again. */
function series() {
  const samples: RequestSample[] = [];
  for (let sec = 0; sec < 30; sec++) {
    for (let i = 0; i < 10; i++) samples.push({ at: s(sec) + i * 90, failed: sec === 5 || sec === 6, durationMs: 20, phase: sec < 5 ? 'baseline' : 'fault' });
  }
  return bucketize(samples);
}

const tl = (...pts: [number, boolean][]): StatePoint[] => pts.map(([sec, ok]) => ({ t: iso(sec), ok }));
const ready: Record<string, StatePoint[]> = { 'dbman-1': tl([0, true], [5.2, false], [12.3, true], [30, true]), 'dbman-2': tl([0, true], [30, true]) };
const live: Record<string, StatePoint[]> = { 'dbman-1': tl([0, true], [30, true]) };
const evidence = (over: Partial<DrillEvidence> = {}): DrillEvidence => ({
  target,
  slo: SLO,
  series: series(),
  wsSamples: [
    { metric: WS_METRICS.reconnectMs, at: s(21), value: 300 },
    { metric: WS_METRICS.reconnects, at: s(21), value: 1 },
    { metric: WS_METRICS.reconnectMs, at: s(4), value: 9999 }, // before the chat fault: not its reconnect
  ] satisfies WsSample[],
  readiness: {
    states: (node) => ({ ready: ready[node], live: live[node] }),
    readyAtOrAfter: (node, fromMs) => (ready[node] ? fromMs + 300 : undefined),
  },
  ...over,
});

const faults = [
  FaultStep.parse({ fault: 'kill', node: 'dbman-1', at: 5, for: 7 }),
  FaultStep.parse({ fault: 'db-cut', node: 'dbman-2', at: 14, for: 4 }),
  FaultStep.parse({ fault: 'kill', node: 'chat-1', at: 20, for: 5 }),
];
const ledgerFault = (id: string, i: number, intent: number, applied: number, healed?: number): LedgerFault => ({
  inject: { type: 'inject', id, at: s(intent), runId: 'r', fault: faults[i]!.fault, node: faults[i]!.node, driver: i === 1 ? 'db-link' : 'process', handle: {} },
  injectedAt: s(applied),
  applied: true,
  healedAt: healed === undefined ? undefined : s(healed),
  healErrors: [],
});
const runFaults = [ledgerFault('f0', 0, 4.9, 5, 12), ledgerFault('f1', 1, 13.9, 14, 18), ledgerFault('f2', 2, 19.9, 20, 25)];
const injected = new Map([[0, 'f0'], [1, 'f1'], [2, 'f2']]);

describe('per-fault checkers', () => {
  it('each says when it applies: failover with k6 samples, db-cut on a db-cut, reconnects on a chat instance with WS samples', () => {
    const at = (i: number) => ({ step: faults[i]!, injectAt: s(faults[i]!.at), healAt: s(faults[i]!.at + faults[i]!.for), intentAt: 0, nextIntentAt: Infinity });
    const applies = (e: DrillEvidence) => faults.map((_, i) => FAULT_CHECKERS.filter((c) => c.appliesTo(at(i), e)).map((c) => c.name));
    const R = 'relapses, per service';
    expect(applies(evidence())).toEqual([['failover', R], ['failover', 'db-cut', R], ['failover', 'ws reconnects', R]]);
    expect(applies(evidence({ series: undefined, wsSamples: undefined }))).toEqual([[], ['db-cut'], []]);
    // the serving checker applies where the serving probe watched the node (not in this evidence)
    expect([failoverChecker, dbCutChecker, reconnectChecker, servingChecker, relapseChecker]).toEqual(FAULT_CHECKERS);
  });

  it('faultEntries: planned fields, ledger id and driver, each applying checker\'s figures in order, the real times', () => {
    const [kill, cut, chat] = faultEntries({ faults, runFaults, injected, evidence: evidence(), now: s(40) });
    expect(Object.keys(kill!)).toEqual([
      'fault', 'node', 'plannedAtS', 'plannedForS', 'id', 'driver',
      'injectAt', 'healAt', 'impactSeen', 'failoverS', 'relapseSeconds', 'longestErrorBurst', 'requestsDuringFault', 'failedDuringFault', 'recoveryS', 'nodeReadyAfterHealS', 'firstErrorOffsetS', 'relapses',
    ]);
    expect(kill).toMatchObject({ fault: 'kill', node: 'dbman-1', plannedAtS: 5, plannedForS: 7, id: 'f0', driver: 'process', injectAt: iso(5), healAt: iso(12), impactSeen: true, failoverS: 2, nodeReadyAfterHealS: 0.3 });
    expect(kill!.longestErrorBurst).toEqual({ seconds: 2, startOffsetS: 0, failed: 20 });
    expect(kill).not.toHaveProperty('dbCut');
    expect(kill).not.toHaveProperty('ws');
    // dbman-2 never turned not-ready: the db-cut figures say so (judge.ts fails it on the readiness flip)
    expect(cut!.dbCut).toEqual({ readyFlipS: null, liveStayedUp: null, readyBackS: 0 });
    expect(Object.keys(cut!).slice(-3)).toEqual(['firstErrorOffsetS', 'dbCut', 'relapses']);
    // the chat fault's reconnects: from its intent time to the end (no fault after it), the earlier sample left out
    expect(chat!.ws).toMatchObject({ reconnects: 1, reconnectSamples: 1, reconnectMaxMs: 300 });
  });

  it('a WS window ends at the next fault\'s intent time; a fault never healed ends at `now`', () => {
    const two = [faults[2]!, FaultStep.parse({ fault: 'kill', node: 'dbman-1', at: 21, for: 3 })];
    const lf = [ledgerFault('f2', 2, 19.9, 20), ledgerFault('f0', 0, 20.5, 20.6, 24)];
    const [chat] = faultEntries({ faults: two, runFaults: lf, injected: new Map([[0, 'f2'], [1, 'f0']]), evidence: evidence(), now: s(33) });
    expect(chat!.ws).toMatchObject({ reconnects: 0, reconnectSamples: 0 });
    expect(chat!.healAt).toBe(iso(33));
  });

  it('a fault the ledger does not hold for this run is "not injected", with no figures', () => {
    const entries = faultEntries({ faults, runFaults: runFaults.slice(0, 1), injected: new Map([[0, 'f0']]), evidence: evidence() });
    expect(entries[1]).toEqual({ fault: 'db-cut', node: 'dbman-2', plannedAtS: 14, plannedForS: 4, error: 'not injected' });
    expect(entries[2]).toEqual({ fault: 'kill', node: 'chat-1', plannedAtS: 20, plannedForS: 5, error: 'not injected' });
  });

  it('a fault not injected because the load ended before its time says so, with the load\'s end and k6\'s exit', () => {
    const entries = faultEntries({ faults, runFaults: runFaults.slice(0, 1), injected: new Map([[0, 'f0']]), evidence: evidence(), loadEnd: { atS: 16.04, exitCode: 99 } });
    // planned at 14 s, before the load's end: no reason the drill can tell
    expect(entries[1]!.error).toBe('not injected');
    expect(entries[2]!.error).toBe("not injected: k6 ended 16.0 s after the load started (exit 99), before the fault's time (20 s)");
    const stopped = faultEntries({ faults, runFaults: [], injected: new Map(), evidence: evidence(), loadEnd: { atS: 3, exitCode: null } });
    expect(stopped[0]!.error).toMatch(/^not injected: k6 ended 3\.0 s after the load started \(stopped by a signal\), before the fault's time/);
  });

  it('a new checker is an addition: it adds its figures where it applies', () => {
    const probe: FaultChecker = { name: 'probe', appliesTo: (f) => f.step.node === 'dbman-1', figures: () => ({ error: 'probe saw it' }) };
    const entries = faultEntries({ faults, runFaults, injected, evidence: evidence(), checkers: [...FAULT_CHECKERS, probe] });
    expect(entries.map((e) => e.error)).toEqual(['probe saw it', undefined, undefined]);
  });
});

describe('breachedOf', () => {
  it('lists thresholds that did not pass with their observed value (or no samples), then the errors', () => {
    const t = (name: string, result: 'pass' | 'fail', observed: number | null) => ({ name, result, observed }) as never;
    expect(
      breachedOf({
        thresholds: [t('a{phase:fault}: rate<=0.05', 'fail', 0.123456), t('b', 'pass', 1), t('c: p(95)<=300', 'fail', null)],
        errors: ['failover_time{...}: <=5s (observed 7s)'],
      }),
    ).toEqual(['a{phase:fault}: rate<=0.05 (observed 0.1235)', 'c: p(95)<=300 (no samples)', 'failover_time{...}: <=5s (observed 7s)']);
  });
});
