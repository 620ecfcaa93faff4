/**
 * The drill's steps for judging a deployment by what it serves (run.ts calls them between dev-12a's steps):
 *
 *   recordedPidsStep  the target with the pids a heal recorded (the suite's pid state) laid over the file's
 *   faultWindowStep   stall faults without --for sized from the target's dbmanClient; warnings for shorter ones
 *   servingFigures    (inside figuresStep) the serving timelines, the per-service view and its outages, judged
 */
import type { RunContext } from '../../runner/steps.js';
import type { TargetFile } from '../../runner/target-file.js';
import { PidState, pidStatePathFor, withRecordedPids } from '../pid-state.js';
import type { ServiceSample } from '../service-figures.js';
import type { DrillInput } from './edge.js';
import { clientCycle, sizeFaults, STALL_FAULTS } from './fault-window.js';
import type { DrillReport } from './report.js';
import { drillServiceFigures, judgeExtras } from './serving-step.js';
import { defaultDurationS, type DrillSpec } from './spec.js';
import type { Watchers } from './steps.js';

/** A given target as it runs now: the live pids the pid state has for its file laid over `faults.pid`. */
export function recordedPidsStep<T extends { target: TargetFile; targetFilePath: string }>(ctx: RunContext, input: DrillInput, t: T): T {
  const pids = new PidState(pidStatePathFor(input.ledger.path)).live(t.targetFilePath);
  const names = Object.entries(pids).map(([n, p]) => `${n} pid ${p}`);
  if (names.length) ctx.log(`restarted by an earlier heal (pid state, not the target file): ${names.join(', ')}`);
  return { ...t, target: withRecordedPids(t.target, pids) };
}

/**
 * Sizes the stall faults (pause, partition) given without --for from the target's dbmanClient (else the contract's
 * defaults) and warns about a shorter --for; returns the spec to run. A duration the user gave is kept: a sized
 * fault that would end after it is shortened to fit, with a warning.
 */
export function faultWindowStep(ctx: RunContext, spec: DrillSpec, target: TargetFile): { spec: DrillSpec; sizing: NonNullable<DrillReport['faultWindowSizing']> } {
  const r = sizeDrillSpec(spec, target.dbmanClient);
  for (const l of r.logs) ctx.log(l);
  for (const w of r.sizing.warnings) ctx.sink(`drill: ${w}`);
  return { spec: r.spec, sizing: r.sizing };
}

/** faultWindowStep's sizing, pure: the spec to run, what it was sized from, the warnings and the lines to log. */
export function sizeDrillSpec(spec: DrillSpec, dbmanClient: TargetFile['dbmanClient']): { spec: DrillSpec; sizing: NonNullable<DrillReport['faultWindowSizing']>; logs: string[] } {
  const cycle = clientCycle(dbmanClient, spec.slo.holdS);
  const r = sizeFaults(spec.faults, spec.forGiven, cycle);
  const s = cycle.settings;
  const from = `${cycle.source === 'target file' ? "the target file's dbmanClient" : 'the contract defaults (no dbmanClient in the target file)'}: timeout ${s.timeoutMs} ms, threshold ${s.failThreshold}, cooldown ${s.cooldownMs} ms`;
  const warnings = [...r.warnings];
  const logs: string[] = [];
  const faults = r.faults.map((f, i) => {
    if (spec.forGiven[i] || !(STALL_FAULTS as readonly string[]).includes(f.fault)) return f;
    let len = f.for;
    if (spec.durationGiven && f.at + len > spec.durationS - 1) {
      len = Math.max(1, spec.durationS - 1 - f.at);
      warnings.push(`warning: ${f.fault} ${f.node} would need ${f.for}s to show its stall twice more (${from}); --duration ${spec.durationS}s leaves ${len}s`);
    }
    logs.push(`${f.fault} ${f.node} lasts ${len}s (sized from ${from}: first stall + 2 relapse cycles of ${cycle.cycleS}s + hold ${spec.slo.holdS}s + 2s)`);
    return { ...f, for: len };
  });
  const sized: DrillSpec = { ...spec, faults, durationS: spec.durationGiven ? spec.durationS : defaultDurationS([...faults, ...(spec.storm ? [spec.storm] : [])]) };
  return { spec: sized, sizing: { settings: s, source: cycle.source, cycleS: cycle.cycleS, neededS: cycle.neededS, warnings }, logs };
}

/** The serving timelines and the per-service view into the report; their outages judged into `errors`. */
export function servingFigures(report: DrillReport, target: TargetFile, watchers: Watchers, samples: readonly ServiceSample[] | undefined, errors: string[]): void {
  report.servingProbe = { operation: watchers.serving.probe.operation };
  report.serving = watchers.serving.timeline;
  if (!samples) return;
  const nodes = Object.fromEntries(target.dbmanNodes.map((n) => [n.name, { ready: watchers.readiness.states(n.name).ready, serving: watchers.serving.states(n.name) }]));
  report.services = drillServiceFigures(samples, nodes);
  errors.push(...judgeExtras([], report, report.slo));
}
