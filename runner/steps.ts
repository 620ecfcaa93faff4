/**
 * The steps every command that runs load shares (the smoke, the drill), each a small function with a clear
 * input and output, and the context they run in:
 *
 *   runCommand     signals, exit codes (0/1, 2 usage, 130/143 interrupted) and the teardown stack, unwound in
 *                  reverse in `finally` (every started thing pushes its stop: the target, the drill's heal, ...)
 *   provisionStep  → the pinned k6 and its version
 *   buildStep      scenario name → the bundled script
 *   referenceTargetStep  flaws, topology → the started reference target (its stop pushed on the stack)
 *   planLoadStep   target, profile → the k6 environment (validated) and the planned load duration
 *   startLoadStep  → a running k6 (stopped on SIGINT/SIGTERM); awaitLoadStep → its result
 *   judgeStep      k6's result, errors, extra thresholds → summary.json, junit.xml, reports/latest
 *   closeStep      the HTML report, the teardown (timed), the final summary.json
 */
import { join } from 'node:path';
import type { TopologyOptions } from '../reference-target/launcher/links.js';
import { startStack, stopStack } from '../reference-target/launcher/stack.js';
import { msaAvailability, SCENARIO_PARTS } from '../lib/plan.js';
import { loadDurationS, resolveProfile, type ProfileName } from '../lib/profiles.js';
import { buildScenario } from './build-scenario.js';
import { startK6, type K6Run, type K6RunOptions, type K6RunResult } from './k6-run.js';
import { progress, type LogFn } from './log.js';
import { ensureK6, K6, ProvisionError } from './provision.js';
import { gitRevision, runStateFile } from './run-dir.js';
import { finishRun, type FinishRunInput } from './run-report.js';
import { closeRun, Interrupted } from './run-lifecycle.js';
import { k6EnvOf, UsageError, validateK6Env } from './smoke-config.js';
import type { Durations, RunSummary } from './summary.js';
import type { TargetFile } from './target-file.js';

export interface RunIo {
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** Results for the user (stdout by default). */
  out?: (text: string) => void;
  /** Where SIGINT/SIGTERM come from (default: the process). */
  signals?: NodeJS.EventEmitter;
}

/**
 * Things to stop, pushed as they start and unwound in reverse (newest first), each once. A failing stop does not
 * keep the older ones from running; unwind throws the first error after all ran.
 */
export class TeardownStack {
  private readonly entries: { name: string; stop: () => Promise<void> | void }[] = [];

  push(name: string, stop: () => Promise<void> | void): void {
    this.entries.push({ name, stop });
  }

  async unwind(onError?: (name: string, err: Error) => void): Promise<void> {
    let first: Error | undefined;
    for (let e = this.entries.pop(); e; e = this.entries.pop()) {
      try {
        await e.stop();
      } catch (err) {
        if (onError) onError(e.name, err as Error);
        else first ??= err as Error;
      }
    }
    if (first) throw first;
  }
}

/** What the steps of one run share: output, timings, the teardown stack and the signal that ends it early. */
export class RunContext {
  readonly startedAt = new Date();
  readonly durations: Durations = {};
  readonly teardown = new TeardownStack();
  readonly sink: (line: string) => void;
  readonly out: (text: string) => void;
  /** The command's own progress lines (`[smoke]`, `[drill]`). */
  readonly log: LogFn;
  readonly signals: NodeJS.EventEmitter;
  interrupted: NodeJS.Signals | undefined;
  private readonly interruptHooks: ((sig: NodeJS.Signals) => void)[] = [];

  constructor(readonly command: string, io: RunIo = {}) {
    this.sink = io.log ?? ((l: string) => process.stderr.write(l + '\n'));
    this.out = io.out ?? ((t: string) => process.stdout.write(t + '\n'));
    this.signals = io.signals ?? process;
    this.log = this.step(command);
  }

  step(name: string): LogFn {
    return progress(name, this.sink);
  }

  /** Runs `fn` as the step `name`, its time in `durations[key]`, and logs `done in`. */
  async timed<T>(key: keyof Durations, name: string, fn: (log: LogFn) => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const l = this.step(name);
    const result = await fn(l);
    this.durations[key] = Date.now() - t0;
    l(`done in ${(this.durations[key]! / 1000).toFixed(1)} s`);
    return result;
  }

  /** Between steps: throws Interrupted once SIGINT/SIGTERM arrived. */
  check(): void {
    if (this.interrupted) throw new Interrupted(this.interrupted);
  }

  /** Runs `hook` when SIGINT/SIGTERM arrives (at once when one already did); hooks run newest first. */
  onInterrupt(hook: (sig: NodeJS.Signals) => void): void {
    this.interruptHooks.push(hook);
    if (this.interrupted) hook(this.interrupted);
  }

  /** The first SIGINT/SIGTERM: logs `<SIG>: <what>` and runs the hooks. */
  interrupt(sig: NodeJS.Signals, what: string): void {
    if (this.interrupted) return;
    this.interrupted = sig;
    this.log(`${sig}: ${what}`);
    for (const h of [...this.interruptHooks].reverse()) h(sig);
  }
}

export interface CommandOptions {
  /** What the command does on SIGINT/SIGTERM, as logged: `SIGTERM: <onSignal>`. */
  onSignal: string;
  /** Errors that mean bad usage (exit 2, one line); ProvisionError always does. */
  isUsageError: (err: unknown) => boolean;
}

/**
 * Runs `body` with signals watched; whatever happens, unwinds the teardown stack in `finally`. Exit codes:
 * body's own; 130/143 when interrupted between steps; 2 bad usage or provisioning; 1 any other error.
 */
export async function runCommand(ctx: RunContext, o: CommandOptions, body: (ctx: RunContext) => Promise<number>): Promise<number> {
  const onSignal = (sig: NodeJS.Signals) => ctx.interrupt(sig, o.onSignal);
  const { signals } = ctx;
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  try {
    return await body(ctx);
  } catch (err) {
    if (err instanceof Interrupted) {
      ctx.log(`interrupted by ${err.signal}`);
      return err.signal === 'SIGINT' ? 130 : 143;
    }
    if (o.isUsageError(err) || err instanceof ProvisionError) {
      ctx.sink(`${ctx.command}: ${(err as Error).message}`);
      return 2;
    }
    ctx.sink(`${ctx.command}: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await ctx.teardown.unwind((name, err) => ctx.sink(`${ctx.command}: ${name} failed: ${err.message}`));
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}

export const isRunnerUsageError = (err: unknown): boolean => err instanceof UsageError;

export interface K6Tool {
  path: string;
  version: string;
}

/** The pinned k6 (built into .tools/ when missing) and its version. */
export async function provisionStep(ctx: RunContext): Promise<K6Tool> {
  const path = await ctx.timed('provisionMs', 'provision', (l) => ensureK6({ log: l }));
  const version = (await K6.installedVersion(path)) ?? 'unknown';
  ctx.check();
  return { path, version };
}

/** Bundles scenarios/<name>.ts; returns dist/<name>.js. */
export async function buildStep(ctx: RunContext, scenario: string): Promise<string> {
  const script = await ctx.timed('buildMs', 'build', (l) => buildScenario(scenario, l));
  ctx.check();
  return script;
}

/**
 * Starts the reference target (flaws, and the proxies and balancers the topology asks for), with its target file
 * at `.state/<command>-<pid>-<random>-target.json` (runStateFile: runs side by side never share one); its stop goes on the teardown stack (timed as `teardown`).
 */
export async function referenceTargetStep(ctx: RunContext, o: { flaws: readonly string[]; topology?: TopologyOptions }): Promise<{ target: TargetFile; targetFilePath: string }> {
  const { flaws, topology } = o;
  const targetFilePath = runStateFile(ctx.command, 'target.json');
  const stack = await ctx.timed('targetStartMs', 'target', (l) => {
    const with_ = [topology?.proxy && 'proxies', topology?.chatLb && 'a chat LB', topology?.dbmanLb && 'the dbman LB', topology?.redisSentinel && 'Redis Sentinel'].filter(Boolean);
    l(`starting the reference target${flaws.length ? ` with flaws ${flaws.join(', ')}` : ''}${with_.length ? ` with ${with_.join(', ')}` : ''} (${targetFilePath})`);
    return startStack({ flaws: [...flaws], targetFilePath, log: l, ...topology });
  });
  ctx.teardown.push('stopping the target', () =>
    ctx.timed('teardownMs', 'teardown', async (l) => {
      l('stopping the reference target');
      await stopStack(stack.targetFilePath);
    }),
  );
  return { target: stack.target, targetFilePath };
}

export interface LoadPlan {
  /** What k6 sees besides the process environment (holds the login: never log it). */
  env: Record<string, string>;
  /** Seconds of load the profile plans. */
  plannedS: number;
  /** Whether the msa part runs, as one line: its services' URLs, or why it is off (`lib/plan.ts: msaAvailability`). */
  msaLine: string;
}

/**
 * The k6 environment of the target (checked with lib/config.ts's parser before any traffic), the planned length
 * and whether the scenario's msa part runs.
 */
export function planLoadStep(o: { target: TargetFile; profile: ProfileName; allowRemote: boolean; env: Record<string, string>; scenario: string }): LoadPlan {
  const env = { ...k6EnvOf(o.target, o.profile, o.allowRemote), ...o.env };
  const parsed = validateK6Env(env);
  const parts = SCENARIO_PARTS[o.scenario];
  const msa = parts ? msaAvailability(parsed, parts) : { on: false };
  const msaLine = msa.note ?? (msa.on ? `msa part on: session ${parsed.sessionUrl}, tenanthub ${parsed.tenanthubUrl}` : 'no msa part in this scenario');
  return { env, plannedS: loadDurationS(resolveProfile(o.profile, parsed)), msaLine };
}

/** Starts k6 (its progress as `[load]` lines); a SIGINT/SIGTERM stops it. */
export function startLoadStep(ctx: RunContext, o: Omit<K6RunOptions, 'log'>): { run: K6Run; log: LogFn; startedAt: number } {
  const log = ctx.step('load');
  const startedAt = Date.now();
  const run = startK6({ ...o, log });
  ctx.onInterrupt(() => run.stop('SIGINT'));
  return { run, log, startedAt };
}

/** Waits for k6 to exit: its result, the load time in `durations.loadMs`. */
export async function awaitLoadStep(ctx: RunContext, load: { run: K6Run; log: LogFn; startedAt: number }): Promise<K6RunResult> {
  const result = await load.run.done;
  ctx.durations.loadMs = Date.now() - load.startedAt;
  load.log(`k6 exited with ${result.exitCode ?? result.signal} after ${(ctx.durations.loadMs / 1000).toFixed(1)} s`);
  return result;
}

/** The verdict: summary.json, junit.xml, reports/latest; an interrupted run fails with `interrupted by <SIG>`. */
export function judgeStep(
  ctx: RunContext,
  input: Omit<FinishRunInput, 'startedAt' | 'gitRevision' | 'durations'>,
): Promise<RunSummary> {
  return finishRun({
    ...input,
    startedAt: ctx.startedAt,
    gitRevision: gitRevision(),
    durations: ctx.durations,
    errors: [...(input.errors ?? []), ...(ctx.interrupted ? [`interrupted by ${ctx.interrupted}`] : [])],
  });
}

/** The end of a judged run: the HTML report, then the teardown stack (timed), then the final summary.json. */
export function closeStep(ctx: RunContext, runDir: string, summary: RunSummary): Promise<RunSummary> {
  return closeRun({ runDir, summary, durations: ctx.durations, startedAt: ctx.startedAt, teardown: () => ctx.teardown.unwind(), log: ctx.step('report') });
}
