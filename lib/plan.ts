/**
 * The plan of one run from its config: the profile (SCALE, DURATION, USER_POOL applied, reduced to the parts a
 * scenario file runs) and the thresholds. PURE (no k6, no Node): k6 builds its options from it at init, and the
 * runner can compute exactly the same threshold list from Node.
 */
import type { SuiteConfig } from './config.js';
import { partsOf, resolveProfile, selectParts, type Profile } from './profiles.js';
import { thresholdSpecs, withOverrides, type Parts, type SloSet, type ThresholdSpec } from './slo.js';
import { healthyFanoutOnly, slowConsumerSpecs, withSlowConsumers } from './slow-consumers.js';
import { PHASES } from './types.js';

/** Which parts each scenario file runs (dist/<name>.js). */
export const SCENARIO_PARTS: Readonly<Record<string, Parts>> = {
  smoke: { rest: true, ws: true, hotRoom: true },
  failover: { rest: true, ws: true, hotRoom: true },
  load: { rest: true, ws: true, hotRoom: true },
  rest: { rest: true, ws: false, hotRoom: false },
  ws: { rest: false, ws: true, hotRoom: false },
  'hot-room': { rest: false, ws: false, hotRoom: true },
};

/** The thresholds chosen for a config and a set of parts (pure; the runner computes the same list from Node). */
export function planFor(cfg: SuiteConfig, keep: Parts): { profile: Profile; specs: ThresholdSpec[] } {
  let profile = selectParts(resolveProfile(cfg.profile, cfg), keep);
  if (cfg.sloOverrides) profile = { ...profile, slo: withOverrides(profile.slo, cfg.sloOverrides) };
  if (cfg.slowConsumers) profile = withSlowConsumers(profile, cfg.slowConsumers);
  let specs = thresholdSpecs(sloFor(profile.slo, cfg.faultWindows.length > 0), partsOf(profile));
  // slow consumers: the healthy subscribers and the publishers' echo judged per phase (only baseline without windows)
  if (cfg.slowConsumers) specs = [...healthyFanoutOnly(specs), ...slowConsumerSpecs(cfg.slowConsumers, partsOf(profile), cfg.faultWindows.length > 0 ? PHASES : ['baseline'])];
  return { profile, specs };
}

/**
 * Per-phase limits apply only when there are fault windows. Without them every sample is `baseline`, so the
 * baseline phase's limits (when the profile has any) judge the whole run instead.
 */
export function sloFor(slo: SloSet, hasFaultWindows: boolean): SloSet {
  if (hasFaultWindows || !slo.phases) return slo;
  const b = slo.phases.baseline ?? {};
  const whole = { ...slo.whole };
  if (b.errorRateMax !== undefined) whole.errorRateMax = b.errorRateMax;
  if (b.httpP95Ms !== undefined) whole.httpP95Ms = b.httpP95Ms;
  if (b.storeSuccessMin !== undefined) whole.storeSuccessMin = b.storeSuccessMin;
  if (b.storeP95Ms !== undefined) whole.storeP95Ms = b.storeP95Ms;
  if (b.wsDeliveryP95Ms !== undefined) whole.wsDeliveryP95Ms = b.wsDeliveryP95Ms;
  return { whole, abort: slo.abort };
}

