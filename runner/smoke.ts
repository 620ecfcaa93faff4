/**
 * `npm run smoke`: provision → build → start the reference target (unless one is given) → k6 smoke → verdict →
 * reports → stop the target (always: also on an error and on SIGINT/SIGTERM) → exit 0 pass / 1 fail / 2 usage.
 * Every input was validated by parseSmokeConfig before this runs; the reference target's URLs are checked
 * again with lib/config.ts's parser once it is up, still before k6 sends anything.
 */
import { join } from 'node:path';
import { startStack, stopStack } from '../reference-target/launcher/stack.js';
import { buildScenario } from './build-scenario.js';
import { startK6, type K6Run } from './k6-run.js';
import { progress, type LogFn } from './log.js';
import { repoRoot } from './paths.js';
import { ensureK6, K6, ProvisionError } from './provision.js';
import { createRunDir, gitRevision } from './run-dir.js';
import { finishRun, humanSummary } from './run-report.js';
import { k6EnvOf, UsageError, validateK6Env, type SmokeConfig } from './smoke-config.js';
import type { Durations } from './summary.js';
import type { TargetFile } from './target-file.js';
import { loadDurationS, resolveProfile } from '../lib/profiles.js';
import { msaAvailability, SCENARIO_PARTS } from '../lib/plan.js';
import { integrityOptionsFromEnv, type IntegrityOptions } from '../integrity/index.js';
import { integrityStep } from '../integrity/run.js';
import { closeRun, exitCodeOf, Interrupted } from './run-lifecycle.js';

export interface SmokeIo {
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** The human summary (stdout by default). */
  out?: (text: string) => void;
  /** Where SIGINT/SIGTERM come from (default: the process); on one, k6 and the target are stopped. */
  signals?: NodeJS.EventEmitter;
}

export async function runSmoke(config: SmokeConfig, io: SmokeIo = {}): Promise<number> {
  const sink = io.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const out = io.out ?? ((t: string) => process.stdout.write(t + '\n'));
  const step = (name: string) => progress(name, sink);
  const log = step('smoke');
  const startedAt = new Date();
  const durations: Durations = {};
  const timed = async <T>(key: keyof Durations, name: string, fn: (log: LogFn) => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const l = step(name);
    const result = await fn(l);
    durations[key] = Date.now() - t0;
    l(`done in ${(durations[key]! / 1000).toFixed(1)} s`);
    return result;
  };

  let stopTarget: (() => Promise<void>) | undefined;
  let k6: K6Run | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const teardown = async () => {
    const stop = stopTarget;
    stopTarget = undefined;
    if (stop) await timed('teardownMs', 'teardown', async (l) => { l('stopping the reference target'); await stop(); });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    log(`${sig}: stopping k6 and the target`);
    k6?.stop('SIGINT');
  };
  const signals = io.signals ?? process;
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new Interrupted(interrupted);
  };

  try {
    let integrityOptions: IntegrityOptions;
    try {
      integrityOptions = integrityOptionsFromEnv();
    } catch (err) {
      throw new UsageError((err as Error).message.split(':')[0]!, (err as Error).message);
    }
    const k6Path = await timed('provisionMs', 'provision', (l) => ensureK6({ log: l }));
    const k6Version = (await K6.installedVersion(k6Path)) ?? 'unknown';
    check();
    const script = await timed('buildMs', 'build', (l) => buildScenario('smoke', l));
    check();

    let target: TargetFile;
    if (config.target.kind === 'reference') {
      const flaws = config.target.flaws;
      const targetFilePath = join(repoRoot, '.state', `smoke-${process.pid}-target.json`);
      const stack = await timed('targetStartMs', 'target', (l) => {
        l(`starting the reference target${flaws.length ? ` with flaws ${flaws.join(', ')}` : ''} (${targetFilePath})`);
        return startStack({ flaws, targetFilePath, log: l });
      });
      stopTarget = () => stopStack(stack.targetFilePath);
      target = stack.target;
    } else {
      target = config.target.target;
      const from = config.target.kind === 'file' ? config.target.path : 'CHAT_URL, AUTH_URL, WS_URL from the environment';
      log(`target: ${target.name} (${from}), not started or stopped by the smoke`);
      if (process.env.TARGET_FLAWS?.trim()) log('TARGET_FLAWS applies to the reference target only: ignored for a given target');
    }
    check();

    const { runId, runDir } = await createRunDir('smoke', config.profile);
    const k6Env = { ...k6EnvOf(target, config.profile, config.allowRemote), RUN_ID: runId };
    const parsed = validateK6Env(k6Env); // the reference target's real URLs, before any traffic
    const plannedS = loadDurationS(resolveProfile(config.profile, parsed));
    const msa = msaAvailability(parsed, SCENARIO_PARTS['smoke']!);
    log(msa.note ?? `msa part on: session ${parsed.sessionUrl}, tenanthub ${parsed.tenanthubUrl}`);
    log(`run ${runId}: k6 ${k6Version}, profile ${config.profile} (~${Math.round(plannedS)} s of load) against ${target.chatUrl}`);

    const loadLog = step('load');
    const t0 = Date.now();
    k6 = startK6({
      k6Path,
      script,
      runDir,
      env: k6Env,
      log: loadLog,
      timeoutMs: (plannedS + 180) * 1000,
    });
    if (interrupted) k6.stop('SIGINT');
    const k6Result = await k6.done;
    durations.loadMs = Date.now() - t0;
    loadLog(`k6 exited with ${k6Result.exitCode ?? k6Result.signal} after ${(durations.loadMs / 1000).toFixed(1)} s`);

    // The integrity check reads the rooms back while the target is still up.
    const integrity = await integrityStep({ rawPath: k6Result.paths.raw, target, runDir, runId, options: integrityOptions }, step('integrity'));

    const summary = await finishRun({
      runId,
      runDir,
      kind: 'smoke',
      profile: config.profile,
      startedAt,
      k6: k6Result,
      k6Version,
      gitRevision: gitRevision(),
      target,
      durations,
      errors: [...integrity.errors, ...(interrupted ? [`interrupted by ${interrupted}`] : [])],
      extraThresholds: integrity.thresholds,
      files: integrity.files,
    });
    await closeRun({ runDir, summary, durations, startedAt, teardown, log: step('report') });
    out(humanSummary(summary, runDir));
    if (integrity.table) out(integrity.table);
    log(`timings: ${formatDurations(summary.durations)}`);
    return exitCodeOf(summary.verdict, interrupted);
  } catch (err) {
    if (err instanceof Interrupted) {
      log(`interrupted by ${err.signal}`);
      return err.signal === 'SIGINT' ? 130 : 143;
    }
    if (err instanceof UsageError || err instanceof ProvisionError) {
      sink(`smoke: ${err.message}`);
      return 2;
    }
    sink(`smoke: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    try {
      await teardown();
    } catch (err) {
      sink(`smoke: stopping the target failed: ${(err as Error).message}`);
    }
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
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
