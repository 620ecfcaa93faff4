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
import { stormThresholds } from './storm-plan.js';

/** Which parts each scenario file runs (dist/<name>.js). */
export const SCENARIO_PARTS: Readonly<Record<string, Parts>> = {
  smoke: { rest: true, ws: true, hotRoom: true, msa: true },
  failover: { rest: true, ws: true, hotRoom: true, msa: true },
  load: { rest: true, ws: true, hotRoom: true, msa: true },
  msa: { rest: false, ws: false, hotRoom: false, msa: true },
  rest: { rest: true, ws: false, hotRoom: false },
  ws: { rest: false, ws: true, hotRoom: false },
  'hot-room': { rest: false, ws: false, hotRoom: true },
};

/**
 * Whether the msa part can run: it needs both SESSION_URL and TENANTHUB_URL. `note` says why not (printed by setup
 * and by the runner), undefined when it runs or the scenario file has no msa part.
 */
export function msaAvailability(cfg: Pick<SuiteConfig, 'sessionUrl' | 'tenanthubUrl'>, keep: Parts): { on: boolean; note?: string } {
  if (!keep.msa) return { on: false };
  const missing = [cfg.sessionUrl === undefined && 'SESSION_URL', cfg.tenanthubUrl === undefined && 'TENANTHUB_URL'].filter(Boolean);
  if (missing.length === 0) return { on: true };
  return { on: false, note: `msa part off: ${missing.join(' and ')} not set (the target has no session/tenanthub URL); running without it` };
}

/** The thresholds chosen for a config and a set of parts (pure; the runner computes the same list from Node). */
export function planFor(cfg: SuiteConfig, keep: Parts): { profile: Profile; specs: ThresholdSpec[] } {
  const msa = msaAvailability(cfg, keep).on;
  let profile = selectParts(resolveProfile(cfg.profile, cfg), { ...keep, msa });
  if (cfg.sloOverrides) profile = { ...profile, slo: withOverrides(profile.slo, cfg.sloOverrides) };
  if (cfg.slowConsumers) profile = withSlowConsumers(profile, cfg.slowConsumers);
  const slo = sloFor(profile.slo, cfg.faultWindows.length > 0);
  let specs = thresholdSpecs(slo, partsOf(profile));
  // slow consumers: the healthy subscribers and the publishers' echo judged per phase (only baseline without windows)
  if (cfg.slowConsumers) specs = [...healthyFanoutOnly(specs), ...slowConsumerSpecs(cfg.slowConsumers, partsOf(profile), cfg.faultWindows.length > 0 ? PHASES : ['baseline'])];
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

