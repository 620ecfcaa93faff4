/**
 * The drill: steady state → k6 load (failover profile, FAULT_WINDOWS from the schedule) → inject at T → heal at
 * T+D → watch readiness → load ends → judge (the runner's verdict over per-phase thresholds) → failover
 * figures (chaos/figures.ts, against the ledger's real times) → reports/<run-id>/drill.json and a printout.
 *
 * Jepsen's split: the generator is k6 (runner), the nemesis is chaos/nemesis.ts with the ledger, the checker is
 * the runner's verdict plus the figures (checkers.ts, judge.ts). `runDrill` is the sequence of named steps
 * (runner/steps.ts for those the smoke shares, steps.ts for the drill's own); the rollback (heal) is registered
 * once (prepareRunStep) on the teardown stack, so it runs after the scheduled time, when the load ends early, on
 * an exception, and on SIGINT/SIGTERM (the process then exits 130/143); a drill killed with SIGKILL leaves the
 * ledger for `npm run chaos -- heal`.
 *
 * Exit: 0 every threshold holds and every fault was injected and healed; 1 a threshold broke, the steady state
 * did not hold before the first fault (then nothing is injected), or a fault could not be injected or healed;
 * 2 bad usage or configuration (nothing sent).
 */
import { integrityStep } from '../../integrity/run.js';
import { exitCodeOf } from '../../runner/run-lifecycle.js';
import { buildStep, closeStep, judgeStep, provisionStep, RunContext, runCommand, type RunIo } from '../../runner/steps.js';
import { UsageError } from '../cli/args.js';
import { validateDrillInput, type DrillInput } from './edge.js';
import { holdDrillNodes } from './claims.js';
import { faultWindowStep, recordedPidsStep } from './added-steps.js';
import { DRILL_FILE } from './report.js';
import { dataTierStep, printDataTier, sentinelUndelivered, sentinelWatchStep, slowPathStep } from './data-tier-steps.js';
import type { DrillSpec } from './spec.js';
import type { ThresholdResult } from '../../runner/summary.js';
import { unverifiedByLag } from '../slow-figures.js';
import {
  afterCheckStep,
  DRILL_SCENARIO,
  drillReport,
  figuresStep,
  healStep,
  loadStep,
  prepareRunStep,
  printOutputs,
  steadyStateFailed,
  steadyStateStep,
  targetStep,
  watchersStep,
  writeVerdictStep,
} from './steps.js';

export { checkSpecAgainstTarget } from './edge.js';
export { formatFigures, judgeFigures } from './judge.js';
export { DRILL_FILE, type DrillFault, type DrillReport } from './report.js';

export interface DrillOptions extends RunIo {
  spec: DrillSpec;
  /** A target file; without it the drill starts the reference target (TARGET_FLAWS) and stops it after. */
  targetPath?: string;
  /** Let a target file name hosts outside loopback (a staging deployment); never needed for the reference target. */
  allowRemote?: boolean;
  ledgerPath?: string;
  /** The drill file the spec came from (errors name its keys). */
  drillFile?: string;
  /** Where run dirs go (default reports/). */
  reportsRoot?: string;
}

const isDrillUsageError = (err: unknown) => err instanceof UsageError || (err as Error).name === 'UsageError';

export async function runDrill(o: DrillOptions): Promise<number> {
  // the edge, before anything starts or is sent: bad input throws (exit 2 from the CLI)
  const input = validateDrillInput(o);
  // last of the edge checks: a node another run is faulting refuses the drill (exit 2); else its nodes are claimed
  const claims = input.given ? holdDrillNodes(input.spec, input.given.target, input.given.path, input.ledger) : undefined;
  const ctx = new RunContext('drill', o);
  try {
    return await runCommand(ctx, { onSignal: 'healing, stopping k6 and the target', isUsageError: isDrillUsageError }, () => drill(ctx, input, o.reportsRoot));
  } finally {
    claims?.release();
  }
}

/** The drill's steps, in order; every started thing has pushed its stop on ctx.teardown. */
async function drill(ctx: RunContext, edgeInput: DrillInput, reportsRoot: string | undefined): Promise<number> {
  const k6 = await provisionStep(ctx);
  const script = await buildStep(ctx, DRILL_SCENARIO);
  const t = recordedPidsStep(ctx, edgeInput, await targetStep(ctx, edgeInput));
  if (!edgeInput.given) {
    // its own nodes are never busy, but `chaos status` lists the drill while it holds them
    const own = holdDrillNodes(edgeInput.spec, t.target, t.targetFilePath, edgeInput.ledger);
    ctx.teardown.push('releasing the node claims', async () => own.release());
  }
  ctx.check();
  const windows = faultWindowStep(ctx, edgeInput.spec, t.target);
  const input: DrillInput = { ...edgeInput, spec: windows.spec };
  const slowEnv = await slowPathStep(ctx, input.spec, t.target);
  const run = await prepareRunStep(ctx, input, t, reportsRoot, slowEnv);

  const steady = await steadyStateStep(run, t.target);
  const report = drillReport(input, run, t.target, steady);
  report.faultWindowSizing = windows.sizing;
  const failedSteady = steady.filter((c) => !c.ok);
  if (failedSteady.length) return steadyStateFailed(ctx, run, report, failedSteady);
  ctx.check();

  const watchers = watchersStep(ctx, t.target);
  const sentinel = await sentinelWatchStep(ctx, t.target);
  const k6Result = await loadStep(ctx, { k6Path: k6.path, script, run, watchers, profile: input.spec.profile });
  sentinel?.stop();
  await healStep(run);
  const after = await afterCheckStep(ctx, run, t.target, watchers);
  await figuresStep({ input, run, target: t.target, watchers, k6: k6Result, report, after });
  await dataTierStep({ input, run, target: t.target, watchers, k6: k6Result, report, sentinel });

  // The integrity check: every room read back after the heal, while the target is still up.
  const integrity = await integrityStep({ rawPath: k6Result.paths.raw, target: t.target, runDir: run.runDir, runId: run.runId, options: input.integrityOptions, profile: input.spec.profile }, ctx.step('integrity'));
  const summary = await judgeStep(ctx, {
    runId: run.runId,
    runDir: run.runDir,
    kind: 'drill',
    profile: input.spec.profile,
    k6: k6Result,
    k6Version: k6.version,
    target: t.target,
    errors: [...run.errors, ...integrity.errors],
    files: { drill: DRILL_FILE, ...integrity.files },
    extraThresholds: integrity.thresholds,
    ...(report.slowConsumers ? { amendThresholds: (ts: ThresholdResult[]) => unverifiedByLag(ts, report.slowConsumers!) } : {}),
  });
  sentinelUndelivered(report, integrity.report?.counts.undelivered);
  await writeVerdictStep(run, report, summary);
  await closeStep(ctx, run.runDir, summary);
  printOutputs(ctx, { run, report, summary, integrity });
  printDataTier(ctx, report);
  return exitCodeOf(summary.verdict, ctx.interrupted);
}
