/**
 * `npm run smoke`: provision → build → start the reference target (unless one is given) → k6 smoke → verdict →
 * reports → stop the target (always: also on an error and on SIGINT/SIGTERM) → exit 0 pass / 1 fail / 2 usage.
 * Every input was validated by parseSmokeConfig before this runs; the reference target's URLs are checked
 * again with lib/config.ts's parser once it is up, still before k6 sends anything.
 */
import { integrityOptionsFromEnv, type IntegrityOptions } from '../integrity/index.js';
import { integrityStep } from '../integrity/run.js';
import { createRunDir } from './run-dir.js';
import { humanSummary } from './run-report.js';
import { exitCodeOf } from './run-lifecycle.js';
import { UsageError, type SmokeConfig } from './smoke-config.js';
import {
  awaitLoadStep,
  buildStep,
  closeStep,
  isRunnerUsageError,
  judgeStep,
  planLoadStep,
  provisionStep,
  referenceTargetStep,
  RunContext,
  runCommand,
  startLoadStep,
  type RunIo,
} from './steps.js';
import type { Durations } from './summary.js';
import type { TargetFile } from './target-file.js';

/** Where the smoke's lines go and where SIGINT/SIGTERM come from (on one, k6 and the target are stopped). */
export type SmokeIo = RunIo;

export async function runSmoke(config: SmokeConfig, io: SmokeIo = {}): Promise<number> {
  const ctx = new RunContext('smoke', io);
  return runCommand(ctx, { onSignal: 'stopping k6 and the target', isUsageError: isRunnerUsageError }, () => smoke(ctx, config));
}

/** The smoke's steps: provision → build → target → k6 → integrity → verdict → close. */
async function smoke(ctx: RunContext, config: SmokeConfig): Promise<number> {
  const integrityOptions = integrityOptionsOf();
  const k6 = await provisionStep(ctx);
  const script = await buildStep(ctx, 'smoke');
  const target = await smokeTarget(ctx, config);
  ctx.check();

  const { runId, runDir } = await createRunDir('smoke', config.profile);
  // the reference target's real URLs are validated here, before any traffic
  const plan = planLoadStep({ target, profile: config.profile, allowRemote: config.allowRemote, env: { RUN_ID: runId }, scenario: 'smoke' });
  ctx.log(plan.msaLine);
  ctx.log(`run ${runId}: k6 ${k6.version}, profile ${config.profile} (~${Math.round(plan.plannedS)} s of load) against ${target.chatUrl}`);
  const load = startLoadStep(ctx, { k6Path: k6.path, script, runDir, env: plan.env, timeoutMs: (plan.plannedS + 180) * 1000 });
  const k6Result = await awaitLoadStep(ctx, load);

  // The integrity check reads the rooms back while the target is still up.
  const integrity = await integrityStep({ rawPath: k6Result.paths.raw, target, runDir, runId, options: integrityOptions, profile: config.profile }, ctx.step('integrity'));
  const summary = await judgeStep(ctx, {
    runId,
    runDir,
    kind: 'smoke',
    profile: config.profile,
    k6: k6Result,
    k6Version: k6.version,
    target,
    errors: integrity.errors,
    extraThresholds: integrity.thresholds,
    files: integrity.files,
  });
  await closeStep(ctx, runDir, summary);
  ctx.out(humanSummary(summary, runDir));
  if (integrity.table) ctx.out(integrity.table);
  ctx.log(`timings: ${formatDurations(summary.durations)}`);
  return exitCodeOf(summary.verdict, ctx.interrupted);
}

function integrityOptionsOf(): IntegrityOptions {
  try {
    return integrityOptionsFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message.split(':')[0]!, (err as Error).message);
  }
}

/** The reference target (started, stopped at teardown) or the given one (neither started nor stopped). */
async function smokeTarget(ctx: RunContext, config: SmokeConfig): Promise<TargetFile> {
  if (config.target.kind === 'reference') return (await referenceTargetStep(ctx, { flaws: config.target.flaws })).target;
  const target = config.target.target;
  const from = config.target.kind === 'file' ? config.target.path : 'CHAT_URL, AUTH_URL, WS_URL from the environment';
  ctx.log(`target: ${target.name} (${from}), not started or stopped by the smoke`);
  if (process.env.TARGET_FLAWS?.trim()) ctx.log('TARGET_FLAWS applies to the reference target only: ignored for a given target');
  return target;
}

export function formatDurations(d: Durations): string {
  const parts: [keyof Durations, string][] = [
    ['provisionMs', 'provision'],
    ['buildMs', 'build'],
    ['targetStartMs', 'target start'],
    ['loadMs', 'load'],
    ['teardownMs', 'teardown'],
    ['totalMs', 'total'],
  ];
  return parts
    .filter(([k]) => d[k] !== undefined)
    .map(([k, label]) => `${label} ${(d[k]! / 1000).toFixed(1)} s`)
    .join(', ');
}
