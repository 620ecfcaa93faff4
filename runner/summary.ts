/**
 * Schemas of the files a run writes and reads, shared by the smoke, the drills, the reports and the split runs:
 * - `K6SummaryData`: what k6 hands to `handleSummary` (written as JSON to SUMMARY_PATH by the scenarios);
 * - `ThresholdResult` and `RunSummary`: the suite's own `reports/<run-id>/summary.json`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SetupSection } from './setup-section.js';
import { HotRoomSection } from './hot-room-section.js';
import { StormSection } from './storm-section.js';

/** One metric (or submetric, e.g. `http_req_duration{endpoint:message_store}`) in k6's summary data. */
export const K6SummaryMetric = z.looseObject({
  type: z.enum(['counter', 'gauge', 'rate', 'trend']),
  contains: z.string().optional(),
  /** e.g. {count, rate} (counter), {rate, passes, fails} (rate), {avg, min, med, max, "p(95)"} (trend), {value, min, max} (gauge). */
  values: z.record(z.string(), z.number()),
  /** Threshold expression → k6's own judgement. Present only on metrics that have thresholds. */
  thresholds: z.record(z.string(), z.looseObject({ ok: z.boolean() })).optional(),
});
export type K6SummaryMetric = z.infer<typeof K6SummaryMetric>;

/** What the suite's scenarios add to the summary data about each threshold (lib/slo.ts): its id and meaning. */
export const SuiteThresholdInfo = z.looseObject({
  key: z.string(),
  expression: z.string(),
  id: z.string().optional(),
  meaning: z.string().optional(),
  abortOnFail: z.boolean().optional(),
});

export const K6SummaryData = z.looseObject({
  state: z.looseObject({ testRunDurationMs: z.number() }),
  metrics: z.record(z.string(), K6SummaryMetric),
  options: z.looseObject({ summaryTrendStats: z.array(z.string()).optional() }).optional(),
  /** Added by the suite's handleSummary; absent for other scripts. */
  suite: z.looseObject({ thresholds: z.array(SuiteThresholdInfo).optional() }).optional().catch(undefined),
  /** The scenario's public setup data (lib/setup.ts publicSetupData: no secrets). */
  setup_data: z.unknown().optional(),
});
export type K6SummaryData = z.infer<typeof K6SummaryData>;

export function readK6SummaryData(path: string): K6SummaryData {
  return K6SummaryData.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** `unverified`: the figure cannot be trusted (e.g. the load generator lagged meanwhile, `reason`): not a pass. */
export const ThresholdOutcome = z.enum(['pass', 'fail', 'no-samples', 'unverified']);
export type ThresholdOutcome = z.infer<typeof ThresholdOutcome>;

export const ThresholdResult = z.object({
  /** `<metric>{tags}: <expression>`, unique within a run, e.g. `http_req_duration{endpoint:message_store}: p(95)<300`. */
  name: z.string(),
  /** The (sub)metric as k6 names it, e.g. `http_req_duration{endpoint:message_store}`. */
  metric: z.string(),
  /** The base metric, e.g. `http_req_duration`. */
  baseMetric: z.string(),
  /** The submetric's tag filter, e.g. {endpoint: "message_store"}; empty for a whole metric. */
  tags: z.record(z.string(), z.string()),
  /** k6 threshold expression, e.g. `p(95)<300`. */
  expression: z.string(),
  /** The aggregation the expression reads, e.g. `p(95)`, `rate`, `count`. */
  aggregation: z.string(),
  operator: z.string(),
  limit: z.number(),
  /** Observed value of the aggregation; null when it could not be read (no samples). */
  observed: z.number().nullable(),
  /** `ms` for time trends, `B` for data, '' otherwise. */
  unit: z.string(),
  /** Samples of the (sub)metric in k6's raw output. */
  samples: z.number().int().nonnegative(),
  /** What k6 itself said; k6 passes thresholds of metrics that got no samples, the suite does not. */
  k6Ok: z.boolean(),
  result: ThresholdOutcome,
  /** Why a result is `unverified` (instead of `fail`). */
  reason: z.string().optional(),
  /** From the suite's SLO description when the scenario reports it: short id, what it means, whether it aborts the run. */
  id: z.string().optional(),
  meaning: z.string().optional(),
  abortOnFail: z.boolean().optional(),
});
export type ThresholdResult = z.infer<typeof ThresholdResult>;

export const RunKind = z.enum(['smoke', 'drill', 'load']);
export type RunKind = z.infer<typeof RunKind>;

export const Durations = z.object({
  provisionMs: z.number().nonnegative().optional(),
  buildMs: z.number().nonnegative().optional(),
  targetStartMs: z.number().nonnegative().optional(),
  loadMs: z.number().nonnegative().optional(),
  teardownMs: z.number().nonnegative().optional(),
  totalMs: z.number().nonnegative().optional(),
});
export type Durations = z.infer<typeof Durations>;

export const RunSummary = z.object({
  runId: z.string(),
  kind: RunKind,
  profile: z.string(),
  verdict: z.enum(['pass', 'fail']),
  /** Why the verdict is fail besides breached thresholds, e.g. "k6 exited with code 107". */
  errors: z.array(z.string()),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** Wall-clock time the load began (k6's test start), when known. */
  loadStartedAt: z.iso.datetime().optional(),
  durations: Durations,
  k6Version: z.string(),
  k6ExitCode: z.number().int().nullable(),
  gitRevision: z.string(),
  /** Name and URLs only: never the login or any token. */
  target: z.object({
    name: z.string(),
    chatUrl: z.string(),
    authUrl: z.string(),
    wsUrl: z.string(),
    tenantId: z.string(),
    reference: z.boolean(),
    flaws: z.array(z.string()).optional(),
  }),
  thresholds: z.array(ThresholdResult),
  /** What setup made, who the load ran as, and its failed calls (never counted in the thresholds). */
  setup: SetupSection.optional(),
  /** The bad-request storm's own answers per kind (runs with STORM only; never judged: lib/storm-plan.ts). */
  storm: StormSection.optional(),
  /** The hot-room publishers' scheduled messages: sent or skipped (runs with the hot room; never judged). */
  hotRoom: HotRoomSection.optional(),
  /** File names inside the run directory. */
  files: z.record(z.string(), z.string()),
});
export type RunSummary = z.infer<typeof RunSummary>;

export function readRunSummary(path: string): RunSummary {
  return RunSummary.parse(JSON.parse(readFileSync(path, 'utf8')));
}
