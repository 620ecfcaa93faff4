/**
 * The drill: steady state → k6 load (failover profile, FAULT_WINDOWS from the schedule) → inject at T → heal at
 * T+D → watch readiness → load ends → judge (the harness's verdict over per-phase thresholds) → failover
 * figures (chaos/figures.ts, against the ledger's real times) → reports/<run-id>/drill.json and a printout.
 *
 * Jepsen's split: the generator is k6 (harness), the nemesis is chaos/nemesis.ts with the ledger, the checker is
 * the harness's verdict plus the figures. Healing always runs: after the scheduled time, when the load ends early,
 * on an exception, and on SIGINT/SIGTERM (the process then exits 130/143); a drill killed with SIGKILL leaves
 * the ledger for `npm run chaos -- heal`.
 *
 * Exit: 0 every threshold holds and every fault was injected and healed; 1 a threshold broke, the steady state
 * did not hold before the first fault (then nothing is injected), or a fault could not be injected or healed;
 * 2 bad usage or configuration (nothing sent).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { $ } from 'zx';
import { startK6, type K6Run, type K6RunResult } from '../../harness/k6-run.js';
import { progress, type LogFn } from '../../harness/log.js';
import { distDir, repoRoot } from '../../harness/paths.js';
import { ensureK6, K6, ProvisionError } from '../../harness/provision.js';
import { createRunDir, gitRevision, writeJson } from '../../harness/run-dir.js';
import { finishRun, humanSummary, publicTarget } from '../../harness/run-report.js';
import { checkLoopback, k6EnvOf, validateK6Env } from '../../harness/smoke-config.js';
import type { Durations, RunSummary } from '../../harness/summary.js';
import { readTargetFile, TargetFileError, type Component, type TargetFile } from '../../harness/target-file.js';
import { loadDurationS, resolveProfile } from '../../lib/profiles.js';
import { parseFlaws } from '../../target/flaws.js';
import { startStack, stopStack } from '../../target/launcher/stack.js';
import { UsageError } from '../cli/args.js';
import { pickDriver } from '../drivers/driver.js';
import { faultWindows } from '../faults.js';
import { failoverFigures, readSeries, type FailoverFigures, type PhaseStats } from '../figures.js';
import { defaultLedgerPath, Ledger } from '../ledger.js';
import { defaultDrivers, Nemesis, recordReferenceProcess } from '../nemesis.js';
import { startDbmanProxies, type DbmanProxies, type ToxiproxyServer } from '../toxiproxy/server.js';
import { needsProxy, type DrillSpec } from './spec.js';
import { ReadinessWatcher, steadyState, type Check, type ReadinessPoint } from './steady.js';
import { integrityOptionsFromEnv, type IntegrityOptions } from '../../integrity/index.js';
import { integrityStep } from '../../integrity/run.js';
import { closeRun, exitCodeOf, Interrupted } from '../../harness/run-lifecycle.js';

export const DRILL_FILE = 'drill.json';
/** The bundled scenario the drill runs (all parts: REST, WS, hot room; the profile picks the shape). */
export const DRILL_SCRIPT = join(distDir, 'failover.js');

export interface DrillOptions {
  spec: DrillSpec;
  /** A target file; without it the drill starts the reference target (TARGET_FLAWS) and stops it after. */
  targetPath?: string;
  ledgerPath?: string;
  /** Where run dirs go (default reports/). */
  reportsRoot?: string;
  log?: (line: string) => void;
  out?: (text: string) => void;
  signals?: NodeJS.EventEmitter;
}

export interface DrillFault extends Partial<FailoverFigures> {
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
  readiness: Record<string, ReadinessPoint[]>;
  /** Checks after the load: every node ready again. */
  after: Check[];
  verdict: 'pass' | 'fail';
  /** Breached thresholds by name (with their phase tag) and drill errors. */
  breached: string[];
  errors: string[];
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function allComponents(t: TargetFile): Component[] {
  return [...t.dbmanNodes, ...t.chatInstances, ...(t.orghub ? [t.orghub] : [])];
}

/** Checks that every fault's node exists and has a driver that reaches it: a UsageError (exit 2) otherwise. */
export function checkSpecAgainstTarget(spec: DrillSpec, t: TargetFile, where: string): void {
  const drivers = defaultDrivers();
  spec.faults.forEach((f, i) => {
    const node = allComponents(t).find((c) => c.name === f.node);
    const at = spec.faults.length > 1 ? `faults.${i}.node` : '--node';
    if (!node) throw new UsageError(`${at}: no node ${f.node} in ${where} (nodes: ${allComponents(t).map((c) => c.name).join(', ')})`);
    try {
      pickDriver(drivers, f.fault, node);
    } catch (err) {
      throw new UsageError(`${at}: ${(err as Error).message}${f.fault === 'partition' || f.fault === 'latency' || f.fault === 'reset' || f.fault === 'bandwidth' ? ' (a drill without --target puts proxies in front of the dbman nodes by itself)' : ''}`);
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
  if (o.targetPath) {
    try {
      given = readTargetFile(o.targetPath);
    } catch (err) {
      if (err instanceof TargetFileError) throw new UsageError(`--target: ${err.message}`);
      throw err;
    }
    checkSpecAgainstTarget(spec, given, o.targetPath);
    try {
      checkLoopback(given, false, (field) => `--target ${field}`);
    } catch (err) {
      // drills send load and faults only to this machine: there is no --allow-remote here
      throw new UsageError((err as Error).message.replace(/, or pass --allow-remote$/, ''));
    }
  }
  let flaws: string[] = [];
  try {
    flaws = parseFlaws(process.env.TARGET_FLAWS);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const useProxy = !given && (spec.proxy || needsProxy(spec));
  const ledger = new Ledger(o.ledgerPath ?? defaultLedgerPath());

  const toxiproxyLog = join(repoRoot, '.state', `drill-${process.pid}-toxiproxy.log`);
  let stopTarget: (() => Promise<void>) | undefined;
  let toxiproxy: ToxiproxyServer | undefined;
  let k6: K6Run | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let nemesis: Nemesis | undefined;
  let runId = '';
  const timers: NodeJS.Timeout[] = [];
  let watcher: ReadinessWatcher | undefined;

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
    await healRun('teardown');
    const stop = stopTarget;
    stopTarget = undefined;
    const t0 = Date.now();
    if (stop) {
      log('stopping the reference target');
      await stop();
    }
    if (toxiproxy) {
      await toxiproxy.stop();
      toxiproxy = undefined;
      rmSync(toxiproxyLog, { force: true });
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
      let proxies: DbmanProxies | undefined;
      if (useProxy) {
        proxies = await startDbmanProxies({ detached: true, logPath: toxiproxyLog });
        toxiproxy = proxies.server;
        log(`toxiproxy-server on ${toxiproxy.apiUrl} (pid ${toxiproxy.pid}): dbman nodes behind proxies`);
      }
      const tp = proxies;
      const stack = await timed('targetStartMs', 'target', (l) => {
        l(`starting the reference target${flaws.length ? ` with flaws ${flaws.join(', ')}` : ''}${tp ? ' with proxies' : ''} (${targetFilePath})`);
        return startStack({
          flaws,
          targetFilePath,
          log: l,
          ...(tp ? { dbmanEndpointFor: tp.endpointFor } : {}),
        });
      });
      stopTarget = () => stopStack(stack.targetFilePath);
      target = stack.target;
      // so that `npm run stack -- down` after a SIGKILLed drill stops the proxy server too (with the dbman group)
      if (proxies) recordReferenceProcess(stack.targetFilePath, { ...proxies.procRecord, name: 'dbman-toxiproxy' });
      checkSpecAgainstTarget(spec, target, 'the reference target');
    }
    check();

    const created = await createRunDir('drill', spec.profile, o.reportsRoot);
    runId = created.runId;
    const { runDir } = created;
    const windows = faultWindows(spec.faults);
    const k6Env: Record<string, string> = {
      ...k6EnvOf(target, spec.profile, false),
      RUN_ID: runId,
      FAULT_WINDOWS: JSON.stringify(windows),
      DURATION: `${spec.durationS}s`,
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
      readiness: {},
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
    watcher = new ReadinessWatcher(target.dbmanNodes);
    const loadLog = step('load');
    const t0 = Date.now();
    k6 = startK6({ k6Path, script: DRILL_SCRIPT, runDir, env: k6Env, log: loadLog, echo: false, timeoutMs: (plannedS + 240) * 1000 });
    const run = k6;
    if (interrupted) run.stop('SIGINT');
    const injectedIds = new Map<number, string>();
    // The phase clock inside k6 starts at setup's end (the scenario prints `load_start_ms=<epoch ms>`): faults
    // are scheduled from that same instant, so FAULT_WINDOWS and the real faults line up. k6's first progress
    // line (harness load-start) is the fallback.
    let scheduled = false;
    const schedule = (at: Date, source: string) => {
      if (scheduled || interrupted) return;
      scheduled = true;
      {
        log(`load started at ${at.toISOString()} (${source})`);
        watcher!.start();
        spec.faults.forEach((f, i) => {
          const node = allComponents(target).find((c) => c.name === f.node)!;
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
    for (const c of after.filter((x) => !x.ok)) errors.push(`after the drill: ${c.what}: ${c.detail}`);

    // --- judge ---
    report.loadStartedAt = k6Result.loadStartedAt?.toISOString();
    report.readiness = watcher.timeline;
    report.after = after;
    const series = existsSync(k6Result.paths.raw) ? await readSeries(k6Result.paths.raw) : undefined;
    if (series) report.phases = series.phases;
    const runFaults = ledger.faults().filter((f) => f.inject.runId === runId);
    report.faults = spec.faults.map((f, i) => {
      const lf = runFaults.find((x) => x.inject.id === injectedIds.get(i));
      const base: DrillFault = { fault: f.fault, node: f.node, plannedAtS: f.at, plannedForS: f.for };
      if (!lf) return { ...base, error: 'not injected' };
      const healAt = lf.healedAt ?? Date.now();
      const figures = series
        ? failoverFigures(
            series,
            { fault: f.fault, node: f.node, injectAt: lf.injectedAt, healAt, nodeReadyAt: watcher!.readyAtOrAfter(f.node, healAt) },
            spec.slo,
            spec.slo.holdS,
          )
        : {};
      return { ...base, id: lf.inject.id, driver: lf.inject.driver, ...figures, injectAt: new Date(lf.injectedAt).toISOString(), healAt: new Date(healAt).toISOString() };
    });
    const figureBreaches = judgeFigures(report.faults, spec.slo);
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


/**
 * The drill's own thresholds over the figures, named like k6's, for faults that take a node away (stop, kill,
 * pause, restart, partition, reset): fault phase, failover done within maxFailoverS; recovery phase, node ready
 * and SLO held within maxRecoveryS of heal. Returns the breaches (empty: all held).
 */
export function judgeFigures(faults: DrillFault[], slo: DrillSpec['slo']): string[] {
  const out: string[] = [];
  for (const f of faults) {
    if (f.error) continue;
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
  return out;
}

const fmt = (v: number | null | undefined, unit = 's') =>
  v === null || v === undefined ? '—' : `${unit === ' ms' ? v.toFixed(1) : v}${unit}`;

/** The failover figures as a few lines for the terminal. */
export function formatFigures(r: DrillReport): string {
  const lines = [
    `failover figures (a good second: error rate <= ${r.slo.errorRate}, p95 <= ${r.slo.p95Ms} ms; held ${r.slo.holdS} s; ` +
      `limits: failover <= ${r.slo.maxFailoverS} s, recovery <= ${r.slo.maxRecoveryS} s):`,
  ];
  for (const f of r.faults) {
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
  }
  for (const [phase, p] of Object.entries(r.phases)) {
    lines.push(`  phase ${phase}: ${p.requests} requests, ${p.failed} failed, p95 ${fmt(p.p95Ms, ' ms')}, p99 ${fmt(p.p99Ms, ' ms')}`);
  }
  lines.push(`drill verdict: ${r.verdict.toUpperCase()}${r.breached.length ? ` — ${r.breached.join('; ')}` : ''}`);
  return lines.join('\n');
}
