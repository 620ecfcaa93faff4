/**
 * The drill's own steps (the shared ones are runner/steps.ts), in the order run.ts calls them: start or adopt
 * the target, prepare the run (run dir, k6 environment, nemesis, method and its rollback), check the steady
 * state, create the watchers, start the load and play the schedule on k6's clock, heal, check after, judge the
 * figures, write the outputs. Each takes what it needs and returns what the next one reads; what happens is an
 * event in the run's journal (journal.ts), which the console printer turns into the `[drill]` lines.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { K6Run, K6RunResult } from '../../runner/k6-run.js';
import { createRunDir, writeJson } from '../../runner/run-dir.js';
import { humanSummary, publicTarget } from '../../runner/run-report.js';
import { awaitLoadStep, planLoadStep, referenceTargetStep, startLoadStep, type LoadPlan, type RunContext } from '../../runner/steps.js';
import type { RunSummary } from '../../runner/summary.js';
import type { TargetFile } from '../../runner/target-file.js';
import type { IntegrityStep } from '../../integrity/run.js';
import { readSeries } from '../figures.js';
import { Nemesis, defaultDrivers } from '../nemesis.js';
import { readWsSamples, wsByPhase } from '../ws-figures.js';
import { BalancerWatcher } from './balancer.js';
import { faultEntries } from './checkers.js';
import { checkSpecAgainstTarget, type DrillInput } from './edge.js';
import { formatFigures, judgeFigures } from './judge.js';
import { consolePrinter, DrillJournal } from './journal.js';
import { FaultMethod } from './method.js';
import { breachedOf, DRILL_FILE, initialReport, type DrillReport } from './report.js';
import { expandSchedule } from './schedule.js';
import { drillWindows, needsChatLb, needsProxy, stormEnv } from './spec.js';
import { ReadinessWatcher, steadyState, type Check } from './steady.js';
import { ServingWatcher } from './serving.js';
import { readServiceSamples } from '../service-figures.js';
import { servingFigures } from './added-steps.js';
import { withRecordedPids } from '../pid-state.js';

/** The scenario the drill runs (all parts: REST, WS, hot room; the profile picks the shape). */
export const DRILL_SCENARIO = 'failover';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DrillTarget {
  target: TargetFile;
  /** The target file (never written to): restarted pids are recorded under its path in the pid state. */
  targetFilePath: string;
}

/** Start or adopt the target: the given one as it is, or the reference target with the topology the faults need. */
export async function targetStep(ctx: RunContext, input: DrillInput): Promise<DrillTarget> {
  const { spec, given } = input;
  if (given) {
    ctx.log(`target: ${given.target.name} (${given.path}), not started or stopped by the drill`);
    return { target: given.target, targetFilePath: given.path };
  }
  // the stack starts (and `stack down` stops) its own toxiproxy-server and haproxy
  const topology = { proxy: spec.proxy || needsProxy(spec), chatLb: spec.chatLb || needsChatLb(spec), dbmanLb: spec.dbmanLb, redisSentinel: spec.redisSentinel };
  const started = await referenceTargetStep(ctx, { flaws: input.flaws, topology });
  checkSpecAgainstTarget(spec, started.target, 'the reference target');
  return started;
}

export interface DrillRun {
  runId: string;
  runDir: string;
  windows: [number, number][];
  plan: LoadPlan;
  method: FaultMethod;
  /** The drill's events; the console printer is subscribed. */
  journal: DrillJournal;
  /** The drill's errors (failed injects and heals, figure breaches, ...): drill.json's `errors`. */
  errors: string[];
}

/**
 * The run dir, the k6 environment (FAULT_WINDOWS from the schedule), the nemesis and the method that plays the
 * expanded schedule, and the rollback: registered once here, it runs on SIGINT/SIGTERM and at teardown.
 */
export async function prepareRunStep(ctx: RunContext, input: DrillInput, t: DrillTarget, reportsRoot?: string, extraEnv: Record<string, string> = {}): Promise<DrillRun> {
  const { spec, ledger } = input;
  const { runId, runDir } = await createRunDir('drill', spec.profile, reportsRoot);
  const windows = drillWindows(spec);
  const plan = planLoadStep({
    target: t.target,
    profile: spec.profile,
    allowRemote: input.allowRemote,
    env: { RUN_ID: runId, FAULT_WINDOWS: JSON.stringify(windows), DURATION: `${spec.durationS}s`, ...(spec.storm ? { STORM: stormEnv(spec.storm) } : {}), ...extraEnv },
    scenario: DRILL_SCENARIO,
  });
  ctx.log(`${plan.msaLine}${plan.msaLine.startsWith('msa part on') ? ' (judged per service and phase)' : ''}`);
  const nemesis = new Nemesis({ ledger, drivers: defaultDrivers(join(dirname(ledger.path), 'chaos-logs', runId)) /* restarted nodes' logs, per run */, runId, targetFilePath: t.targetFilePath, log: ctx.step('nemesis') });
  const errors: string[] = [];
  const journal = new DrillJournal().on(consolePrinter(ctx.log));
  // a node a heal starts again is reached at its new pid (the suite's pid state), the target file is never written
  const currentTarget = () => withRecordedPids(t.target, nemesis.pids.live(t.targetFilePath));
  const method = new FaultMethod({ nemesis, ledger, runId, target: t.target, currentTarget, ops: expandSchedule(spec.faults), errors, journal, interrupted: () => ctx.interrupted !== undefined });
  registerRollback(ctx, method);
  return { runId, runDir, windows, plan, method, journal, errors };
}

/** The rollback, guaranteed: heal this run's faults on SIGINT/SIGTERM (at once) and when the run is torn down. */
function registerRollback(ctx: RunContext, method: FaultMethod): void {
  ctx.onInterrupt((sig) => {
    method.cancel();
    void method.healRun(sig);
  });
  ctx.teardown.push('healing', async () => {
    method.cancel();
    await method.healRun('teardown');
  });
}

/** The steady-state hypothesis, before any fault. */
export async function steadyStateStep(run: DrillRun, target: TargetFile): Promise<Check[]> {
  const checks = await steadyState(target);
  run.journal.emit({ type: 'steady-state', checks });
  return checks;
}

/** The steady state did not hold: nothing is injected; drill.json says why; exit 1. */
export async function steadyStateFailed(ctx: RunContext, run: DrillRun, report: DrillReport, failed: Check[]): Promise<number> {
  const msg = `steady state not met, no fault injected: ${failed.map((c) => `${c.what} (${c.detail})`).join('; ')}`;
  run.errors.push(msg);
  report.breached = [msg];
  await writeJson(join(run.runDir, DRILL_FILE), report);
  ctx.sink(`drill: ${msg}`);
  ctx.out(`FAIL: ${msg}\nrun: ${run.runId} (${join(run.runDir, DRILL_FILE)})`);
  return 1;
}

export interface Watchers {
  readiness: ReadinessWatcher;
  /** The serving probe of every dbman node (a real read-only internal-API operation, 250 ms grid). */
  serving: ServingWatcher;
  balancer?: { name: string; watcher: BalancerWatcher };
  start(): void;
  /** Stops polling and closes the timelines (once; also at teardown). */
  stop(): void;
}

/** The readiness watcher (every dbman node and chat instance) and, in the dbman-lb topology, the balancer's. */
export function watchersStep(ctx: RunContext, target: TargetFile): Watchers {
  const readiness = new ReadinessWatcher({ dbman: target.dbmanNodes, chat: target.chatInstances });
  const serving = new ServingWatcher(target.dbmanNodes, target.servingProbe);
  const lb = target.loadBalancers.find((b) => b.fronts === 'dbman' && b.statsUrl);
  const balancer = lb ? { name: lb.name, watcher: new BalancerWatcher(lb, target.dbmanNodes) } : undefined;
  let stopped = false;
  const w: Watchers = {
    readiness,
    serving,
    balancer,
    start: () => {
      readiness.start();
      serving.start();
      balancer?.watcher.start();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      readiness.stop();
      serving.stop();
      balancer?.watcher.stop();
    },
  };
  ctx.teardown.push('stopping the watchers', w.stop);
  return w;
}

/**
 * k6's clock: the phase clock inside k6 starts at setup's end (the scenario prints `load_start_ms=<epoch ms>`),
 * the zero of FAULT_WINDOWS; k6's first progress line is the fallback. `start` is called once (not after a
 * signal); a setup that says `ready=false` calls `setupFailed` instead, and the schedule never starts.
 */
export function onLoadStart(run: K6Run, interrupted: () => boolean, on: { start(at: Date, source: string): void; setupFailed(line: string): void }): void {
  let settled = false;
  const start = (at: Date, source: string) => {
    if (settled || interrupted()) return;
    settled = true;
    on.start(at, source);
  };
  run.on('line', (line: string) => {
    const m = /load_start_ms=(\d+)/.exec(line);
    if (!m) return;
    if (/ready=false/.test(line)) {
      settled = true;
      on.setupFailed(line);
      return;
    }
    start(new Date(Number(m[1])), 'k6 setup load_start_ms');
  });
  run.loadStarted.then(
    (at) => setTimeout(() => start(at, 'first k6 progress line'), 1000),
    () => undefined,
  );
}

/**
 * Start the load (k6, the failover scenario) and run the fault schedule on its clock: at load start the watchers
 * start and the method plays the expanded schedule. Returns k6's result once it exits.
 */
export async function loadStep(ctx: RunContext, o: { k6Path: string; script: string; run: DrillRun; watchers: Watchers; profile: string }): Promise<K6RunResult> {
  const { run, watchers } = o;
  ctx.log(`run ${run.runId}: profile ${o.profile} (~${Math.round(run.plan.plannedS)} s of load), FAULT_WINDOWS ${JSON.stringify(run.windows)}`);
  const load = startLoadStep(ctx, { k6Path: o.k6Path, script: o.script, runDir: run.runDir, env: run.plan.env, echo: false, timeoutMs: (run.plan.plannedS + 240) * 1000 });
  onLoadStart(load.run, () => ctx.interrupted !== undefined, {
    start: (at, source) => {
      run.journal.emit({ type: 'load-started', at, source });
      watchers.start();
      run.method.start(at.getTime());
    },
    setupFailed: (line) => {
      run.errors.push(`k6 setup failed: ${line.trim()}`);
      run.journal.emit({ type: 'setup-failed', line });
    },
  });
  const progressTimer = setInterval(() => {
    const active = run.method.active();
    load.log(`running ${((Date.now() - load.startedAt) / 1000).toFixed(0)} s; injected now: ${active.map((f) => `${f.inject.fault} ${f.inject.node}`).join(', ') || 'nothing'}`);
  }, 5000);
  let result: K6RunResult;
  try {
    result = await awaitLoadStep(ctx, load);
  } finally {
    clearInterval(progressTimer);
  }
  run.journal.emit({ type: 'load-ended', exitCode: result.exitCode, loadMs: ctx.durations.loadMs! });
  return result;
}

/** Heal: the operations not yet due are dropped, then every fault of the run still active is healed. */
export async function healStep(run: DrillRun): Promise<void> {
  run.method.cancel();
  // a heal that is running (e.g. a restart waiting for its node) finishes before the rest heals
  await sleep(50);
  await run.method.healRun('load ended');
}

/** After the load: every node ready again (waiting up to 20 s for a restarted one); then the watchers stop. */
export async function afterCheckStep(ctx: RunContext, run: DrillRun, target: TargetFile, watchers: Watchers): Promise<Check[]> {
  const deadline = Date.now() + 20_000;
  let after = await steadyState(target);
  while (after.some((c) => !c.ok) && Date.now() < deadline && !ctx.interrupted) {
    await sleep(500);
    after = await steadyState(target);
  }
  watchers.stop();
  run.journal.emit({ type: 'after-check', checks: after });
  for (const c of after.filter((x) => !x.ok)) run.errors.push(`after the drill: ${c.what}: ${c.detail}`);
  return after;
}

/**
 * Judge the figures: the watchers' timelines and k6's samples into the report, one entry per fault from the
 * checkers (checkers.ts), the drill's own thresholds over them (judge.ts) as errors; drill.json written.
 */
export async function figuresStep(o: { input: DrillInput; run: DrillRun; target: TargetFile; watchers: Watchers; k6: K6RunResult; report: DrillReport; after: Check[] }): Promise<void> {
  const { input, run, report, watchers, k6 } = o;
  report.loadStartedAt = k6.loadStartedAt?.toISOString();
  report.readiness = watchers.readiness.timeline;
  report.liveness = watchers.readiness.liveness;
  const b = watchers.balancer;
  if (b) report.balancer = { name: b.name, nodes: b.watcher.timeline, ...(b.watcher.lastError ? { lastError: b.watcher.lastError } : {}) };
  report.after = o.after;
  const hasRaw = existsSync(k6.paths.raw);
  const series = hasRaw ? await readSeries(k6.paths.raw) : undefined;
  if (series) report.phases = series.phases;
  const wsSamples = hasRaw ? await readWsSamples(k6.paths.raw) : undefined;
  if (wsSamples) report.ws = wsByPhase(wsSamples);
  const serviceSamples = hasRaw ? await readServiceSamples(k6.paths.raw) : undefined;
  report.faults = faultEntries({
    faults: input.spec.faults,
    runFaults: input.ledger.faults().filter((f) => f.inject.runId === run.runId),
    injected: run.method.injected,
    evidence: { target: o.target, slo: input.spec.slo, series, wsSamples, readiness: watchers.readiness, balancer: b?.watcher, serving: watchers.serving, serviceSamples },
    ...(k6.loadStartedAt ? { loadEnd: { atS: (k6.finishedAt.getTime() - k6.loadStartedAt.getTime()) / 1000, exitCode: k6.exitCode } } : {}),
  });
  run.errors.push(...judgeFigures(report.faults, input.spec.slo));
  servingFigures(report, o.target, watchers, serviceSamples, run.errors);
  await writeJson(join(run.runDir, DRILL_FILE), report);
}

/** The report before the load: the steady state, the planned faults. */
export function drillReport(input: DrillInput, run: DrillRun, target: TargetFile, steady: Check[]): DrillReport {
  return initialReport({ runId: run.runId, spec: input.spec, windows: run.windows, target: publicTarget(target), ledgerPath: input.ledger.path, steadyState: steady, errors: run.errors });
}

/** Write outputs: the verdict and the breaches (thresholds with their observed values, run errors) into drill.json. */
export async function writeVerdictStep(run: DrillRun, report: DrillReport, summary: RunSummary): Promise<void> {
  report.verdict = summary.verdict;
  report.breached = breachedOf(summary);
  await writeJson(join(run.runDir, DRILL_FILE), report);
  run.journal.emit({ type: 'judged', verdict: report.verdict, breached: report.breached });
}

/** The drill's results on stdout once the run is closed: the human summary, the figures, the integrity table. */
export function printOutputs(ctx: RunContext, o: { run: DrillRun; report: DrillReport; summary: RunSummary; integrity: IntegrityStep }): void {
  ctx.out(humanSummary(o.summary, o.run.runDir));
  ctx.out(formatFigures(o.report));
  if (o.integrity.table) ctx.out(o.integrity.table);
}
