/**
 * Finishing a run: the verdict from k6's summary data and raw output, `summary.json`, `junit.xml`,
 * `reports/latest`, the HTML report, and the human summary. Shared by the smoke, the drills and split runs.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { redactUrls } from '../lib/loopback.js';
import { junitXml } from './junit.js';
import { k6RanToVerdict, K6_LOG_FILE, K6_SUMMARY_FILE, RAW_FILE, type K6RunResult } from './k6-run.js';
import { pointLatest, writeJson } from './run-dir.js';
import { readK6SummaryData, RunSummary, type Durations, type RunKind, type ThresholdResult } from './summary.js';
import type { TargetFile } from './target-file.js';
import { formatSummary, judgeThresholds, verdictOf } from './verdict.js';
import { formatSetup, setupSectionOf, setupStopError, type SetupSection } from './setup-section.js';
import { formatStorm, readStormSection, type StormSection } from './storm-section.js';
import { formatHotRoom, hotRoomSectionOf, type HotRoomSection } from './hot-room-section.js';

export const SUMMARY_FILE = 'summary.json';
/** k6's exit code when the script called exec.test.abort() (the VUs do when setup was not ready). */
const K6_ABORTED_BY_SCRIPT = 108;
export const JUNIT_FILE = 'junit.xml';

export interface FinishRunInput {
  runId: string;
  runDir: string;
  kind: RunKind;
  profile: string;
  startedAt: Date;
  k6: K6RunResult;
  k6Version: string;
  gitRevision: string;
  target: TargetFile;
  durations: Durations;
  /** Errors found before the verdict (they make it fail). */
  errors?: string[];
  /** Extra files the caller wrote into the run dir, by role (e.g. {drill: "drill.json"}). */
  files?: Record<string, string>;
  /** Judgements made outside k6 (e.g. the integrity check's), appended to k6's thresholds in the verdict. */
  extraThresholds?: ThresholdResult[];
  /** Rewrites k6's judged thresholds before the verdict (e.g. a failed figure taken while the generator lagged → unverified). */
  amendThresholds?: (thresholds: ThresholdResult[]) => ThresholdResult[];
  /** Point `reports/latest` at this run (default true) — the link lives beside the run dir. */
  latest?: boolean;
}

/** Name and URLs of the target, for reports: never the login, and no URL with its credentials (refused at the edge anyway). */
export function publicTarget(t: TargetFile): RunSummary['target'] {
  return {
    name: t.name,
    chatUrl: redactUrls(t.chatUrl),
    authUrl: redactUrls(t.authUrl),
    wsUrl: redactUrls(t.wsUrl),
    tenantId: t.tenantId,
    reference: t.reference !== undefined,
    ...(t.reference ? { flaws: t.reference.flaws } : {}),
  };
}

/** Judges the run and writes summary.json, junit.xml and (by default) reports/latest. Returns the summary. */
export async function finishRun(input: FinishRunInput): Promise<RunSummary> {
  const errors = [...(input.errors ?? [])];
  const { k6 } = input;
  if (k6.timedOut) errors.push('k6 ran past its time limit and was stopped');
  if (!k6RanToVerdict(k6.exitCode)) errors.push(`k6 exited with ${k6.exitCode === null ? `signal ${k6.signal}` : `code ${k6.exitCode}`} (see ${K6_LOG_FILE})`);
  let thresholds: ThresholdResult[] = [];
  let setup: SetupSection | undefined;
  let storm: StormSection | undefined;
  let hotRoom: HotRoomSection | undefined;
  if (!existsSync(k6.paths.summary)) {
    errors.push(`k6 wrote no summary data (${K6_SUMMARY_FILE}): the scenario's handleSummary did not run`);
  } else if (!existsSync(k6.paths.raw)) {
    errors.push(`k6 wrote no raw output (${RAW_FILE})`);
  } else {
    const data = readK6SummaryData(k6.paths.summary);
    setup = setupSectionOf(data.setup_data);
    const stop = setupStopError(setup);
    if (stop) {
      // the VUs stopped the test before any load (k6 exit 108): nothing to judge, the setup section says why
      const aborted = errors.findIndex((e) => e.startsWith(`k6 exited with code ${K6_ABORTED_BY_SCRIPT}`));
      if (aborted >= 0) errors.splice(aborted, 1);
      errors.unshift(stop);
    } else {
      thresholds = await judgeThresholds(data, k6.paths.raw);
      if (input.amendThresholds) thresholds = input.amendThresholds(thresholds);
      if (data.metrics.storm_answers) storm = await readStormSection(k6.paths.raw);
      hotRoom = hotRoomSectionOf(data);
      if (thresholds.length === 0) errors.push('the run defined no thresholds: nothing was judged');
    }
  }
  // a run stopped in setup sent no load: the checks made after it (integrity) have nothing to judge either
  if (input.extraThresholds?.length && !setupStopError(setup)) thresholds = [...thresholds, ...input.extraThresholds];
  const files: Record<string, string> = {
    summary: SUMMARY_FILE,
    junit: JUNIT_FILE,
    k6Summary: K6_SUMMARY_FILE,
    k6Raw: RAW_FILE,
    k6Log: K6_LOG_FILE,
    ...input.files,
  };
  const summary = RunSummary.parse({
    runId: input.runId,
    kind: input.kind,
    profile: input.profile,
    verdict: verdictOf(thresholds, errors),
    errors,
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ...(k6.loadStartedAt ? { loadStartedAt: k6.loadStartedAt.toISOString() } : {}),
    durations: input.durations,
    k6Version: input.k6Version,
    k6ExitCode: k6.exitCode,
    gitRevision: input.gitRevision,
    target: publicTarget(input.target),
    thresholds,
    ...(setup ? { setup } : {}),
    ...(storm ? { storm } : {}),
    ...(hotRoom ? { hotRoom } : {}),
    files,
  });
  await writeJson(join(input.runDir, SUMMARY_FILE), summary);
  await writeFile(join(input.runDir, JUNIT_FILE), junitXml(summary));
  if (input.latest ?? true) await pointLatest(input.runDir, dirname(input.runDir));
  return summary;
}

/** Rewrites summary.json with later figures (e.g. the teardown time, known only after the target stopped). */
export async function updateSummary(runDir: string, summary: RunSummary): Promise<void> {
  await writeJson(join(runDir, SUMMARY_FILE), RunSummary.parse(summary));
}

/** The human summary printed at the end of a run. */
export function humanSummary(summary: RunSummary, runDir: string): string {
  return [
    formatSetup(summary.setup),
    ...formatStorm(summary.storm),
    ...formatHotRoom(summary.hotRoom),
    formatSummary(summary.verdict, summary.thresholds, summary.errors),
    `run: ${summary.runId} (reports/${basename(runDir)}, also reports/latest)`,
  ].join('\n');
}
