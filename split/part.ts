/**
 * One part of a split load run: k6 with `--execution-segment i-1/n:i/n` and the shared sequence, raw output,
 * k6 summary data and k6.log under `reports/<run-id>/parts/<i>-of-<n>/`, plus `part.json` (what merge needs to
 * check that the parts belong together). A part does not judge: its k6 saw 1/n of the load; merge judges.
 * Exit: 0 k6 ran to its end (0 or 99), 1 k6 failed or was stopped, 2 bad usage (nothing sent).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadDurationS, resolveProfile } from '../lib/profiles.js';
import { buildScenario } from '../runner/build-scenario.js';
import { k6RanToVerdict, K6_LOG_FILE, K6_SUMMARY_FILE, RAW_FILE, startK6, type K6Run } from '../runner/k6-run.js';
import { progress } from '../runner/log.js';
import { reportsDir } from '../runner/paths.js';
import { ensureK6, K6, ProvisionError } from '../runner/provision.js';
import { publicTarget } from '../runner/run-report.js';
import { gitRevision, makeRunId, writeJson } from '../runner/run-dir.js';
import { RunSummary } from '../runner/summary.js';
import { partK6Env, UsageError, type PartConfig } from './config.js';
import { validateK6Env } from '../runner/smoke-config.js';
import { executionSegment, partDirName, segmentArgs, segmentSequence } from './segments.js';

let provisioned: Promise<string> | undefined;
let built: Promise<string> | undefined;

export const PART_FILE = 'part.json';
export const PARTS_DIR = 'parts';

export const PartInfo = z.object({
  version: z.literal(1),
  runId: z.string(),
  profile: z.string(),
  scale: z.number().optional(),
  segment: z.object({ index: z.number().int().positive(), count: z.number().int().positive(), executionSegment: z.string(), sequence: z.string() }),
  k6Version: z.string(),
  k6ExitCode: z.number().int().nullable(),
  k6Signal: z.string().nullable(),
  timedOut: z.boolean(),
  startedAt: z.iso.datetime(),
  loadStartedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime(),
  loadMs: z.number(),
  gitRevision: z.string(),
  host: z.string(),
  target: RunSummary.shape.target,
  files: z.object({ k6Raw: z.string(), k6Summary: z.string(), k6Log: z.string() }),
});
export type PartInfo = z.infer<typeof PartInfo>;

export interface PartIo {
  log?: (line: string) => void;
  /** Reports root (default reports/). */
  root?: string;
  signals?: NodeJS.EventEmitter;
}

export async function runPart(config: PartConfig, io: PartIo = {}): Promise<{ code: number; partDir?: string }> {
  const sink = io.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const log = progress('load', sink);
  const root = io.root ?? reportsDir;
  const startedAt = new Date();
  let k6: K6Run | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= sig;
    k6?.stop('SIGINT');
  };
  const signals = io.signals ?? process;
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  try {
    const runId = config.runId ?? makeRunId('load', config.profile, startedAt);
    const env = partK6Env(config, runId);
    const parsed = validateK6Env(env);
    const plannedS = loadDurationS(resolveProfile(config.profile, parsed));
    // Several parts in one process (--local-parts, tests) share one provisioning and one build (saves the time; the
    // content-named bundle is safe beside other builds anyway).
    provisioned ??= ensureK6({ log: progress('provision', sink) });
    const k6Path = await provisioned.catch((err) => { provisioned = undefined; throw err; });
    const k6Version = (await K6.installedVersion(k6Path)) ?? 'unknown';
    built ??= buildScenario('load', progress('build', sink)).finally(() => setTimeout(() => (built = undefined), 5_000).unref());
    const script = await built;
    const partDir = join(root, runId, PARTS_DIR, partDirName(config.segment));
    await mkdir(partDir, { recursive: true });
    const seg = executionSegment(config.segment);
    log(`run ${runId} part ${config.segment.index}/${config.segment.count} (segment ${seg}): profile ${config.profile}${config.scale ? ` x${config.scale}` : ''} (~${Math.round(plannedS)} s) against ${config.target.target.chatUrl}`);
    if (interrupted) return { code: interrupted === 'SIGINT' ? 130 : 143 };
    k6 = startK6({ k6Path, script, runDir: partDir, env, log: progress(`part ${config.segment.index}/${config.segment.count}`, sink), extraArgs: segmentArgs(config.segment), timeoutMs: (plannedS + 300) * 1000 });
    const result = await k6.done;
    const info: PartInfo = {
      version: 1,
      runId,
      profile: config.profile,
      ...(config.scale !== undefined ? { scale: config.scale } : {}),
      segment: { ...config.segment, executionSegment: seg, sequence: segmentSequence(config.segment.count) },
      k6Version,
      k6ExitCode: result.exitCode,
      k6Signal: result.signal,
      timedOut: result.timedOut,
      startedAt: startedAt.toISOString(),
      ...(result.loadStartedAt ? { loadStartedAt: result.loadStartedAt.toISOString() } : {}),
      finishedAt: result.finishedAt.toISOString(),
      loadMs: result.durationMs,
      gitRevision: gitRevision(),
      host: (await import('node:os')).hostname(),
      target: publicTarget(config.target.target),
      files: { k6Raw: RAW_FILE, k6Summary: K6_SUMMARY_FILE, k6Log: K6_LOG_FILE },
    };
    await writeJson(join(partDir, PART_FILE), PartInfo.parse(info));
    log(`k6 exited with ${result.exitCode ?? result.signal}; part written to ${partDir} (judged by: npm run load -- merge ${join(root, runId)})`);
    if (interrupted) return { code: interrupted === 'SIGINT' ? 130 : 143, partDir };
    return { code: k6RanToVerdict(result.exitCode) && !result.timedOut ? 0 : 1, partDir };
  } catch (err) {
    if (err instanceof UsageError || err instanceof ProvisionError) {
      sink(`load: ${err.message}`);
      return { code: 2 };
    }
    sink(`load: ${(err as Error).stack ?? String(err)}`);
    return { code: 1 };
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
}
