/**
 * The plan of one run from its config: the profile (SCALE, DURATION, USER_POOL applied, reduced to the parts a
 * scenario file runs) and the thresholds. PURE (no k6, no Node): k6 builds its options from it at init, and the
 * runner can compute exactly the same threshold list from Node.
 */
import type { SuiteConfig } from './config.js';
import { partsOf, resolveProfile, selectParts, type Profile } from './profiles.js';
import { thresholdSpecs, withOverrides, type Parts, type SloSet, type ThresholdSpec } from './slo.js';
import { stormThresholds } from './storm-plan.js';

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
  const slo = sloFor(profile.slo, cfg.faultWindows.length > 0);
  const specs = thresholdSpecs(slo, partsOf(profile));
  // a bad-request storm: the valid traffic per service, and the storm itself sent
  if (cfg.storm) specs.push(...stormThresholds(slo.whole.errorRateMax));
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

