/**
 * One place that turns the environment into a k6 test: config (parsed once, at init), the profile (scaled,
 * duration applied, reduced to the parts a scenario file runs), the thresholds from the SLO, options, setup()
 * and handleSummary(). Scenario files are thin wrappers around defineSuite().
 */
import type { ProfileName } from './types.js';
import { figures, k6Scenarios, loadDurationS, partsOf, type Profile } from './profiles.js';
import { stormScenarios } from './storm-plan.js';
import { stormRequest, stormWitness } from './storm.js';
import { msaAvailability, planFor, SCENARIO_PARTS } from './plan.js';
import { slowConsumerScenarios } from './slow-consumers.js';
import { ConfigError, parseConfig, type SuiteConfig } from './config.js';
import { thresholdExpression, thresholdKey, toK6Thresholds, type ThresholdSpec } from './slo.js';
import { publicSetupData, runSetup, type SetupData } from './setup.js';
import { hotRoomSession, hotRoomSlowSession, msaSession, restIteration, wsSession } from './load.js';

export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

export interface Suite {
  cfg: SuiteConfig;
  profile: Profile;
  specs: ThresholdSpec[];
  options: Record<string, unknown>;
  setup: () => SetupData;
  handleSummary: (data: SummaryData) => Record<string, string>;
}

export interface SummaryData {
  metrics: Record<string, { type: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
  setup_data?: unknown;
  state?: { testRunDurationMs?: number };
  [k: string]: unknown;
}

/** `scenario` is the scenario file's name (its parts, SCENARIO_PARTS); `defaultProfile` applies when PROFILE is unset. */
export function defineSuite(scenario: keyof typeof SCENARIO_PARTS, defaultProfile: ProfileName): Suite {
  const keep = SCENARIO_PARTS[scenario];
  if (!keep) throw new Error(`unknown scenario ${scenario}`);
  let cfg: SuiteConfig;
  try {
    cfg = parseConfig(__ENV, defaultProfile);
  } catch (err) {
    // One line, naming the variable; k6 stops at init, before any traffic.
    if (err instanceof ConfigError) throw new Error(`bad configuration: ${err.message}`);
    throw err;
  }
  const { profile, specs } = planFor(cfg, keep);
  const parts = partsOf(profile);
  const msaNote = msaAvailability(cfg, keep).note;
  if (!parts.rest && !parts.ws && !parts.hotRoom && !parts.msa) throw new Error(`bad configuration: nothing to run (${msaNote ?? 'no part'})`);
  const options = {
    scenarios: { ...k6Scenarios(profile), ...slowConsumerScenarios(profile, cfg.slowConsumers), ...(cfg.storm ? stormScenarios(cfg.storm, loadDurationS(profile)) : {}) },
    thresholds: toK6Thresholds(specs),
    setupTimeout: `${profile.setupTimeoutS}s`,
    summaryTrendStats: SUMMARY_TREND_STATS,
    // No redirect is followed: the loopback rule (lib/loopback.ts) checked the target's URLs, not where a 3xx
    // points (a loopback server answering 307 to another host would get the login body sent there).
    maxRedirects: 0,
  };
  return {
    cfg,
    profile,
    specs,
    options,
    setup: () => runSetup(cfg, profile, parts, msaNote),
    handleSummary: (data) => summarize(cfg, profile, specs, data),
  };
}

interface ThresholdResult extends ThresholdSpec {
  key: string;
  expression: string;
  ok: boolean | null;
  observed: number | null;
  samples: number | null;
}

function samplesOf(m: { type: string; values: Record<string, number> } | undefined): number | null {
  if (!m) return null;
  if (m.type === 'rate') return (m.values.passes ?? 0) + (m.values.fails ?? 0);
  if (m.type === 'trend' || m.type === 'counter') return m.values.count ?? null;
  return null;
}

export function thresholdResults(specs: readonly ThresholdSpec[], data: SummaryData): ThresholdResult[] {
  return specs.map((s) => {
    const key = thresholdKey(s);
    const expression = thresholdExpression(s);
    const m = data.metrics[key];
    const observed = m?.values[s.stat];
    const ok = m?.thresholds?.[expression]?.ok;
    return { ...s, key, expression, ok: ok ?? null, observed: observed ?? null, samples: samplesOf(m) };
  });
}

function summarize(cfg: SuiteConfig, profile: Profile, specs: ThresholdSpec[], data: SummaryData): Record<string, string> {
  const results = thresholdResults(specs, data);
  const setup = publicSetupData(data.setup_data);
  const out = {
    ...data,
    setup_data: setup,
    suite: {
      version: 1,
      profile: profile.name,
      runId: setup?.runId ?? cfg.runId ?? null,
      loadStartMs: setup?.loadStartMs ?? null,
      faultWindows: cfg.faultWindows,
      scale: cfg.scale,
      parts: partsOf(profile),
      figures: figures(profile),
      thresholds: results,
    },
  };
  const failed = results.filter((r) => r.ok === false).map((r) => r.id);
  const line = `k6: ${results.length} thresholds, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}${cfg.summaryPath ? `; summary data in ${cfg.summaryPath}` : ''}\n`;
  const files: Record<string, string> = { stdout: line };
  if (cfg.summaryPath) files[cfg.summaryPath] = JSON.stringify(out, null, 1);
  return files;
}

/** The VU functions a scenario file exports (k6 looks them up by the `exec` names in options.scenarios). */
export function vuFunctions(suite: Suite): {
  restIteration: (data: SetupData) => void;
  wsSession: (data: SetupData) => void;
  hotRoomSession: (data: SetupData) => void;
  hotRoomSlowSession: (data: SetupData) => void;
  msaIteration: (data: SetupData) => void;
  stormRequest: (data: SetupData) => void;
  stormWitness: (data: SetupData) => void;
} {
  return {
    restIteration: (data) => restIteration(suite, data),
    wsSession: (data) => wsSession(suite, data),
    hotRoomSession: (data) => hotRoomSession(suite, data),
    hotRoomSlowSession: (data) => hotRoomSlowSession(suite, data),
    msaIteration: (data) => msaSession(suite, data),
    stormRequest: (data) => stormRequest(suite, data),
    stormWitness: (data) => stormWitness(suite, data),
  };
}
