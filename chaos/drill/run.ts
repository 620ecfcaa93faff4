/**
 * The drill: steady state → k6 load (failover profile, FAULT_WINDOWS from the schedule) → inject at T → heal at
 * T+D → watch readiness → load ends → judge (the runner's verdict over per-phase thresholds) → failover
 * figures (chaos/figures.ts, against the ledger's real times) → reports/<run-id>/drill.json and a printout.
 *
 * Jepsen's split: the generator is k6 (runner), the nemesis is chaos/nemesis.ts with the ledger, the checker is
 * the runner's verdict plus the figures. Healing always runs: after the scheduled time, when the load ends early,
 * on an exception, and on SIGINT/SIGTERM (the process then exits 130/143); a drill killed with SIGKILL leaves
 * the ledger for `npm run chaos -- heal`.
 *
 * Exit: 0 every threshold holds and every fault was injected and healed; 1 a threshold broke, the steady state
 * did not hold before the first fault (then nothing is injected), or a fault could not be injected or healed;
 * 2 bad usage or configuration (nothing sent).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { $ } from 'zx';
import { startK6, type K6Run, type K6RunResult } from '../../runner/k6-run.js';
import { progress, type LogFn } from '../../runner/log.js';
import { distDir, repoRoot } from '../../runner/paths.js';
import { ensureK6, K6, ProvisionError } from '../../runner/provision.js';
import { createRunDir, gitRevision, writeJson } from '../../runner/run-dir.js';
import { finishRun, humanSummary, publicTarget } from '../../runner/run-report.js';
import { checkLoopback, k6EnvOf, validateK6Env } from '../../runner/smoke-config.js';
import type { Durations, RunSummary } from '../../runner/summary.js';
import { readTargetFile, TargetFileError, type TargetFile } from '../../runner/target-file.js';
import { loadDurationS, resolveProfile } from '../../lib/profiles.js';
import { parseFlaws } from '../../reference-target/flaws.js';
import { startStack, stopStack } from '../../reference-target/launcher/stack.js';
import { UsageError } from '../cli/args.js';
import { pickDriver } from '../drivers/driver.js';
import { faultWindows, NETWORK_FAULTS } from '../faults.js';
import { failoverFigures, readSeries, type FailoverFigures, type PhaseStats } from '../figures.js';
import { defaultLedgerPath, Ledger } from '../ledger.js';
import { defaultDrivers, Nemesis } from '../nemesis.js';
import { needsChatLb, needsProxy, type DrillSpec } from './spec.js';
import { ReadinessWatcher, steadyState, type Check, type LivenessPoint, type ReadinessPoint } from './steady.js';
import { BalancerWatcher, type BalancerPoint } from './balancer.js';
import { dataTierOf, findFaultTarget, faultTargets, isChatInstance } from '../fault-targets.js';
import { formatDataTier, judgePgRecovery, judgeResume, pgRecoveryFigures, readStoreAcks, resumeFigures, ServingWatcher, type PgRecoveryFigures, type ResumeFigures } from '../data-tier.js';
import { dbCutFigures, type DbCutFigures } from '../health-figures.js';
import { formatFigures, judgeFigures } from './judge.js';
import { readWsSamples, reconnectFigures, wsByPhase, type ReconnectFigures, type WsPhaseFigures } from '../ws-figures.js';
import { integrityOptionsFromEnv, type IntegrityOptions } from '../../integrity/index.js';
import { integrityStep } from '../../integrity/run.js';
import { closeRun, exitCodeOf, Interrupted } from '../../runner/run-lifecycle.js';
import { SLOW_PATH_NODE, startSlowPath, type SlowPath } from '../slow-path.js';
import { formatSlowConsumers, slowConsumerFigures, type SlowConsumerFigures } from '../slow-figures.js';
import { slowConsumersEnv } from './slow-consumers.js';

export { formatFigures, judgeFigures };

export const DRILL_FILE = 'drill.json';
/** The bundled scenario the drill runs (all parts: REST, WS, hot room; the profile picks the shape). */
export const DRILL_SCRIPT = join(distDir, 'failover.js');

export interface DrillOptions {
  spec: DrillSpec;
  /** A target file; without it the drill starts the reference target (TARGET_FLAWS) and stops it after. */
  targetPath?: string;
  /** Let a target file name hosts outside loopback (a staging deployment); never needed for the reference target. */
  allowRemote?: boolean;
  ledgerPath?: string;
  /** Where run dirs go (default reports/). */
  reportsRoot?: string;
  log?: (line: string) => void;
  out?: (text: string) => void;
  signals?: NodeJS.EventEmitter;
}

export interface DrillFault extends Partial<FailoverFigures> {
  /** db-cut: the node's readiness flip, liveness, readiness back (and the balancer's view in the dbman-lb topology). */
  dbCut?: DbCutFigures;
  /** A fault on a chat instance: the WS clients' reconnects from inject to the next fault (or the end). */
  ws?: ReconnectFigures;
  /** A fault that takes Redis away: per room active before, the time from Redis back to its first fan-out delivery. */
  resume?: ResumeFigures;
  /** A fault on PostgreSQL: per dbman node ready and serving again, the first store, the recovery time. */
  pgRecovery?: PgRecoveryFigures;
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
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Faults that take a part away (a network slowdown does not): the data tier's return checks apply after them. */
const TAKES_AWAY: readonly string[] = ['stop', 'kill', 'pause', 'restart', 'partition', 'reset'];

/** Checks that every fault's node exists and has a driver that reaches it: a UsageError (exit 2) otherwise. */
export function checkSpecAgainstTarget(spec: DrillSpec, t: TargetFile, where: string): void {
  const drivers = defaultDrivers();
  spec.faults.forEach((f, i) => {
    if (f.node === SLOW_PATH_NODE) return; // the drill's own slow path (slowConsumers)
    const node = findFaultTarget(t, f.node);
    const at = spec.faults.length > 1 ? `faults.${i}.node` : '--node';
    if (!node) throw new UsageError(`${at}: no node ${f.node} in ${where} (nodes: ${faultTargets(t).map((c) => c.name).join(', ')})`);
    try {
      pickDriver(drivers, f.fault, node);
    } catch (err) {
      const hint = (NETWORK_FAULTS as readonly string[]).includes(f.fault) || f.fault === 'db-cut'
        ? ' (a drill without --target puts proxies in front of the dbman nodes, on their PostgreSQL links and in front of Redis by itself)'
        : '';
      throw new UsageError(`${at}: ${(err as Error).message}${hint}`);
    }
  });
}

async function buildScenarios(log: LogFn): Promise<void> {
  const r = await $({ cwd: repoRoot, nothrow: true, quiet: true })`${process.execPath} build.mjs`;
  if (r.exitCode !== 0) throw new Error(`build failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  if (!existsSync(DRILL_SCRIPT)) throw new Error(`build made no ${DRILL_SCRIPT}`);
  log(`bundled ${DRILL_SCRIPT}`);
}

export async function runDrill(o: DrillOptions): Promise<number> {
  const { spec } = o;
  const sink = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = o.out ?? ((t: string) => process.stdout.write(t + '\n'));
  const step = (name: string) => progress(name, sink);
  const log = step('drill');
  const startedAt = new Date();
  const durations: Durations = {};
  const errors: string[] = [];

  // --- edge checks, before anything starts or is sent ---
  let integrityOptions: IntegrityOptions;
  try {
    integrityOptions = integrityOptionsFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let given: TargetFile | undefined;
  if (o.targetPath && (spec.proxy || spec.chatLb || spec.dbmanLb)) {
    const set = [spec.proxy && '--proxy', spec.chatLb && '--lb', spec.dbmanLb && '--dbman-lb'].filter(Boolean).join(', ');
    throw new UsageError(`${set}: only without --target (they shape the reference target the drill starts; a target file describes its own proxies and balancers)`);
  }
  if (o.targetPath) {
    try {
      given = readTargetFile(o.targetPath);
    } catch (err) {
      if (err instanceof TargetFileError) throw new UsageError(`--target: ${err.message}`);
      throw err;
    }
    checkSpecAgainstTarget(spec, given, o.targetPath);
    // the same rule as the smoke: a target outside loopback only with --allow-remote
    try {
      checkLoopback(given, o.allowRemote ?? false, (field) => `--target ${field}`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  } else if (o.allowRemote) {
    throw new UsageError('--allow-remote: only with --target <file> (the reference target runs on this machine)');
  }
  let flaws: string[] = [];
  try {
    flaws = parseFlaws(process.env.TARGET_FLAWS);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const ledger = new Ledger(o.ledgerPath ?? defaultLedgerPath());

  let stopTarget: (() => Promise<void>) | undefined;
  let k6: K6Run | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let nemesis: Nemesis | undefined;
  let runId = '';
  const timers: NodeJS.Timeout[] = [];
  let watcher: ReadinessWatcher | undefined;
  let balancerWatcher: BalancerWatcher | undefined;
  let slowPath: SlowPath | undefined;
  let servingWatcher: ServingWatcher | undefined;

  const healRun = async (why: string) => {
    if (!nemesis) return;
    const active = ledger.active().filter((f) => f.inject.runId === runId);
    if (active.length === 0) return;
    log(`healing ${active.length} fault(s) (${why})`);
    const r = await nemesis.healAll((f) => f.inject.runId === runId);
    for (const e of r.errors) {
      errors.push(`heal failed: ${e}`);
      log(`HEAL FAILED: ${e} — run "npm run chaos -- heal"`);
    }
  };
  const teardown = async () => {
    for (const t of timers) clearTimeout(t);
    watcher?.stop();
    balancerWatcher?.stop();
    servingWatcher?.stop();
    await healRun('teardown');
    await slowPath?.stop();
    slowPath = undefined;
    const stop = stopTarget;
    stopTarget = undefined;
    const t0 = Date.now();
    if (stop) {
      log('stopping the reference target');
      await stop();
    }
    if (stop) durations.teardownMs = Date.now() - t0;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    log(`${sig}: healing, stopping k6 and the target`);
    for (const t of timers) clearTimeout(t);
    k6?.stop('SIGINT');
    void healRun(sig);
  };
  const signals = o.signals ?? process;
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new Interrupted(interrupted);
  };
  const timed = async <T>(key: keyof Durations, name: string, fn: (l: LogFn) => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await fn(step(name));
    durations[key] = Date.now() - t0;
    return r;
  };

  try {
    const k6Path = await timed('provisionMs', 'provision', (l) => ensureK6({ log: l }));
    const k6Version = (await K6.installedVersion(k6Path)) ?? 'unknown';
    check();
    await timed('buildMs', 'build', buildScenarios);
    check();

    let target: TargetFile;
    let targetFilePath: string;
    if (given) {
      target = given;
      targetFilePath = resolve(o.targetPath!);
      log(`target: ${target.name} (${targetFilePath}), not started or stopped by the drill`);
    } else {
      targetFilePath = join(repoRoot, '.state', `drill-${process.pid}-target.json`);
      // the stack starts (and `stack down` stops) its own toxiproxy-server and haproxy
      const topology = { proxy: spec.proxy || needsProxy(spec), chatLb: spec.chatLb || needsChatLb(spec), dbmanLb: spec.dbmanLb };
      const stack = await timed('targetStartMs', 'target', (l) => {
        const with_ = [topology.proxy && 'proxies', topology.chatLb && 'a chat LB', topology.dbmanLb && 'the dbman LB'].filter(Boolean);
        l(`starting the reference target${flaws.length ? ` with flaws ${flaws.join(', ')}` : ''}${with_.length ? ` with ${with_.join(', ')}` : ''} (${targetFilePath})`);
        return startStack({ flaws, targetFilePath, log: l, ...topology });
      });
      stopTarget = () => stopStack(stack.targetFilePath);
      target = stack.target;
      checkSpecAgainstTarget(spec, target, 'the reference target');
    }
    check();

    if (spec.slowConsumers) slowPath = await startSlowPath(target.wsUrl, log);
    check();

    const created = await createRunDir('drill', spec.profile, o.reportsRoot);
    runId = created.runId;
    const { runDir } = created;
    const windows = faultWindows(spec.faults);
    const k6Env: Record<string, string> = {
      ...k6EnvOf(target, spec.profile, (o.allowRemote ?? false) && given !== undefined),
      RUN_ID: runId,
      FAULT_WINDOWS: JSON.stringify(windows),
      DURATION: `${spec.durationS}s`,
      ...(spec.slowConsumers && slowPath ? { SLOW_CONSUMERS: slowConsumersEnv(spec.slowConsumers, slowPath.wsUrl) } : {}),
    };
    const parsed = validateK6Env(k6Env);
    const plannedS = loadDurationS(resolveProfile(spec.profile, parsed));
    nemesis = new Nemesis({
      ledger,
      drivers: defaultDrivers(join(dirname(ledger.path), 'chaos-logs')),
      runId,
      targetFilePath,
      log: step('nemesis'),
    });

    // --- steady state: no fault unless it holds ---
    const steady = await steadyState(target);
    for (const c of steady) log(`steady state: ${c.ok ? 'ok ' : 'NOT'} ${c.what}: ${c.detail}`);
    const report: DrillReport = {
      runId,
      name: spec.name,
      profile: spec.profile,
      durationS: spec.durationS,
      slo: spec.slo,
      faultWindows: windows,
      target: publicTarget(target),
      ledger: ledger.path,
      steadyState: steady,
      faults: spec.faults.map((f) => ({ fault: f.fault, node: f.node, plannedAtS: f.at, plannedForS: f.for })),
      phases: {},
      ws: {},
      readiness: {},
      liveness: {},
      after: [],
      verdict: 'fail',
      breached: [],
      errors,
    };
    const failedSteady = steady.filter((c) => !c.ok);
    if (failedSteady.length) {
      const msg = `steady state not met, no fault injected: ${failedSteady.map((c) => `${c.what} (${c.detail})`).join('; ')}`;
      errors.push(msg);
      report.breached = [msg];
      await writeJson(join(runDir, DRILL_FILE), report);
      sink(`drill: ${msg}`);
      out(`FAIL: ${msg}\nrun: ${runId} (${join(runDir, DRILL_FILE)})`);
      return 1;
    }
    check();

    // --- load + schedule ---
    log(`run ${runId}: profile ${spec.profile} (~${Math.round(plannedS)} s of load), FAULT_WINDOWS ${JSON.stringify(windows)}`);
    watcher = new ReadinessWatcher({ dbman: target.dbmanNodes, chat: target.chatInstances });
    const dbmanLb = target.loadBalancers.find((b) => b.fronts === 'dbman' && b.statsUrl);
    balancerWatcher = dbmanLb ? new BalancerWatcher(dbmanLb, target.dbmanNodes) : undefined;
    servingWatcher = spec.faults.some((f) => dataTierOf(target, f.node) === 'postgres') ? new ServingWatcher(target.dbmanNodes) : undefined;
    const loadLog = step('load');
    const t0 = Date.now();
    k6 = startK6({ k6Path, script: DRILL_SCRIPT, runDir, env: k6Env, log: loadLog, echo: false, timeoutMs: (plannedS + 240) * 1000 });
    const run = k6;
    if (interrupted) run.stop('SIGINT');
    const injectedIds = new Map<number, string>();
    // The phase clock inside k6 starts at setup's end (the scenario prints `load_start_ms=<epoch ms>`): faults
    // are scheduled from that same instant, so FAULT_WINDOWS and the real faults line up. k6's first progress
    // line (runner load-start) is the fallback.
    let scheduled = false;
    const schedule = (at: Date, source: string) => {
      if (scheduled || interrupted) return;
      scheduled = true;
      {
        log(`load started at ${at.toISOString()} (${source})`);
        watcher!.start();
        balancerWatcher?.start();
        servingWatcher?.start();
        spec.faults.forEach((f, i) => {
          const node = f.node === SLOW_PATH_NODE && slowPath ? slowPath.component : findFaultTarget(target, f.node)!;
          const injectIn = at.getTime() + f.at * 1000 - Date.now();
          const healIn = at.getTime() + (f.at + f.for) * 1000 - Date.now();
          timers.push(
            setTimeout(() => {
              if (interrupted) return;
              log(`T+${f.at}s: inject ${f.fault} on ${f.node}`);
              nemesis!.inject(f, node).then(
                (r) => injectedIds.set(i, r.id),
                (err: Error) => {
                  errors.push(`inject ${f.fault} on ${f.node} failed: ${err.message}`);
                  log(`INJECT FAILED: ${f.fault} on ${f.node}: ${err.message}`);
                },
              );
            }, Math.max(0, injectIn)),
            setTimeout(() => {
              if (interrupted) return;
              const id = injectedIds.get(i);
              if (!id) return;
              log(`T+${f.at + f.for}s: heal ${f.fault} on ${f.node}`);
              nemesis!.heal(id).then(
                (h) => log(`healed ${f.fault} on ${f.node}: ${h.outcome.detail}`),
                (err: Error) => {
                  errors.push(`heal ${f.fault} on ${f.node} failed: ${err.message}`);
                  log(`HEAL FAILED: ${f.fault} on ${f.node}: ${err.message}`);
                },
              );
            }, Math.max(0, healIn)),
          );
        });
      }
    };
    run.on('line', (line: string) => {
      const m = /load_start_ms=(\d+)/.exec(line);
      if (!m) return;
      if (/ready=false/.test(line)) {
        errors.push(`k6 setup failed: ${line.trim()}`);
        log('k6 setup failed: no fault is injected');
        scheduled = true;
        return;
      }
      schedule(new Date(Number(m[1])), 'k6 setup load_start_ms');
    });
    run.loadStarted.then(
      (at) => setTimeout(() => schedule(at, 'first k6 progress line'), 1000),
      () => undefined,
    );
    const progressTimer = setInterval(() => {
      const active = ledger.active().filter((f) => f.inject.runId === runId);
      loadLog(`running ${((Date.now() - t0) / 1000).toFixed(0)} s; injected now: ${active.map((f) => `${f.inject.fault} ${f.inject.node}`).join(', ') || 'nothing'}`);
    }, 5000);
    let k6Result: K6RunResult;
    try {
      k6Result = await run.done;
    } finally {
      clearInterval(progressTimer);
    }
    durations.loadMs = Date.now() - t0;
    loadLog(`k6 exited with ${k6Result.exitCode ?? k6Result.signal} after ${(durations.loadMs / 1000).toFixed(1)} s`);
    for (const t of timers) clearTimeout(t);
    // a heal that is running (e.g. a restart waiting for its node) finishes before the rest heals
    await sleep(50);
    await healRun('load ended');

    // --- after the load: every node ready again (wait a little for a restarted one) ---
    const deadline = Date.now() + 20_000;
    let after = await steadyState(target);
    while (after.some((c) => !c.ok) && Date.now() < deadline && !interrupted) {
      await sleep(500);
      after = await steadyState(target);
    }
    watcher.stop();
    balancerWatcher?.stop();
    servingWatcher?.stop();
    for (const c of after.filter((x) => !x.ok)) errors.push(`after the drill: ${c.what}: ${c.detail}`);

    // --- judge ---
    report.loadStartedAt = k6Result.loadStartedAt?.toISOString();
    report.readiness = watcher.timeline;
    report.liveness = watcher.liveness;
    if (balancerWatcher) report.balancer = { name: dbmanLb!.name, nodes: balancerWatcher.timeline, ...(balancerWatcher.lastError ? { lastError: balancerWatcher.lastError } : {}) };
    report.after = after;
    const hasRaw = existsSync(k6Result.paths.raw);
    const series = hasRaw ? await readSeries(k6Result.paths.raw) : undefined;
    if (series) report.phases = series.phases;
    const wsSamples = hasRaw ? await readWsSamples(k6Result.paths.raw) : undefined;
    if (wsSamples) report.ws = wsByPhase(wsSamples);
    const runFaults = ledger.faults().filter((f) => f.inject.runId === runId);
    // WS windows open at the ledger's intent time (written just before the driver acts): a killed instance's
    // clients may reconnect before the driver returns and the `applied` time is taken
    const intentTimes = runFaults.map((x) => x.inject.at);
    const acks = hasRaw && spec.faults.some((f) => dataTierOf(target, f.node)) ? await readStoreAcks(k6Result.paths.raw) : [];
    report.faults = spec.faults.map((f, i) => {
      const lf = runFaults.find((x) => x.inject.id === injectedIds.get(i));
      const base: DrillFault = { fault: f.fault, node: f.node, plannedAtS: f.at, plannedForS: f.for };
      if (!lf) return { ...base, error: 'not injected' };
      const healAt = lf.healedAt ?? Date.now();
      const extra: Pick<DrillFault, 'dbCut' | 'ws' | 'resume' | 'pgRecovery'> = {};
      // the data tier is back when it was started again (restart) or healed (every other fault)
      const backAt = f.fault === 'restart' ? lf.injectedAt : healAt;
      const tier = TAKES_AWAY.includes(f.fault) ? dataTierOf(target, f.node) : undefined;
      if (tier === 'redis') extra.resume = resumeFigures(acks, { injectAt: lf.inject.at, backAt });
      if (tier === 'postgres') {
        extra.pgRecovery = pgRecoveryFigures(backAt, Object.fromEntries(target.dbmanNodes.map((n) => [n.name, { ready: watcher!.states(n.name).ready, serving: servingWatcher?.serving(n.name) }])), acks);
      }
      if (f.fault === 'db-cut') {
        extra.dbCut = dbCutFigures({ injectAt: lf.injectedAt, healAt }, { ...watcher!.states(f.node), balancer: balancerWatcher?.states(f.node) });
      }
      if (isChatInstance(target, f.node) && wsSamples) {
        const next = Math.min(...intentTimes.filter((t) => t > lf.inject.at), Infinity);
        extra.ws = reconnectFigures(wsSamples, lf.inject.at, next);
      }
      const figures = series
        ? failoverFigures(
            series,
            { fault: f.fault, node: f.node, injectAt: lf.injectedAt, healAt, nodeReadyAt: watcher!.readyAtOrAfter(f.node, healAt) },
            spec.slo,
            spec.slo.holdS,
          )
        : {};
      return { ...base, id: lf.inject.id, driver: lf.inject.driver, ...figures, ...extra, injectAt: new Date(lf.injectedAt).toISOString(), healAt: new Date(healAt).toISOString() };
    });
    if (spec.slowConsumers && hasRaw) report.slowConsumers = await slowConsumerFigures(k6Result.paths.raw, spec.slowConsumers.padBytes);
    const figureBreaches = [
      ...judgeFigures(report.faults, spec.slo),
      ...report.faults.flatMap((f) => [
        ...(f.resume ? judgeResume(f.fault, f.node, f.resume, spec.slo.maxResumeS) : []),
        ...(f.pgRecovery ? judgePgRecovery(f.fault, f.node, f.pgRecovery, spec.slo.maxPgRecoveryS) : []),
      ]),
    ];
    errors.push(...figureBreaches);
    await writeJson(join(runDir, DRILL_FILE), report);
    // The integrity check: every room read back after the heal, while the target is still up.
    const integrity = await integrityStep({ rawPath: k6Result.paths.raw, target, runDir, runId, options: integrityOptions }, step('integrity'));
    const summary = await finishRun({
      runId,
      runDir,
      kind: 'drill',
      profile: spec.profile,
      startedAt,
      k6: k6Result,
      k6Version,
      gitRevision: gitRevision(),
      target,
      durations,
      errors: [...errors, ...integrity.errors, ...(interrupted ? [`interrupted by ${interrupted}`] : [])],
      files: { drill: DRILL_FILE, ...integrity.files },
      extraThresholds: integrity.thresholds,
    });
    report.verdict = summary.verdict;
    report.breached = [
      ...summary.thresholds
        .filter((t) => t.result !== 'pass')
        .map((t) => `${t.name} (${t.observed === null ? 'no samples' : `observed ${Number(t.observed.toPrecision(4))}`})`),
      ...summary.errors,
    ];
    await writeJson(join(runDir, DRILL_FILE), report);
    await closeRun({ runDir, summary, durations, startedAt, teardown, log: step('report') });
    out(humanSummary(summary, runDir));
    out(formatFigures(report));
    if (report.slowConsumers) out(formatSlowConsumers(report.slowConsumers).join('\n'));
    const tierLines = report.faults.flatMap(formatDataTier);
    if (tierLines.length) out(['data tier:', ...tierLines].join('\n'));
    if (integrity.table) out(integrity.table);
    return exitCodeOf(summary.verdict, interrupted);
  } catch (err) {
    if (err instanceof Interrupted) {
      log(`interrupted by ${err.signal}`);
      return err.signal === 'SIGINT' ? 130 : 143;
    }
    if (err instanceof UsageError || (err as Error).name === 'UsageError' || err instanceof ProvisionError) {
      sink(`drill: ${(err as Error).message}`);
      return 2;
    }
    sink(`drill: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    try {
      await teardown();
    } catch (err) {
      sink(`drill: teardown failed: ${(err as Error).message}`);
    }
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}
