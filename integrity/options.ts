/**
 * The integrity check's settings, from the environment, parsed once at the edge (a bad value: one line naming
 * the setting, exit 2, nothing started), and the profile's targets they refine.
 */
import { z } from 'zod';
import type { IntegrityTargets } from '../lib/profiles.js';

export interface IntegrityOptions {
  /** `undelivered <= undeliveredLimit` (default 0). */
  undeliveredLimit: number;
  /** A socket must stay open this long after a message's outcome to be expected to get it (default 1000). */
  spanMs: number;
  /** Rooms missing messages are re-read until this long after the first read (default 5000): late, not lost. */
  settleMs: number;
  /** `late <= lateLimit` when set; unset: late messages are reported, not judged. */
  lateLimit?: number | undefined;
  /** `reordered <= reorderedLimit`; unset: the profile's (0 for every built-in profile). */
  reorderedLimit?: number | undefined;
  /** Rate targets replacing the profile's (`null`: no target). */
  targets?: Partial<Record<RateKey, number | null>>;
}

export const RATE_KEYS = ['lost', 'duplicates', 'undelivered'] as const;
export type RateKey = (typeof RATE_KEYS)[number];

export const DEFAULT_SETTLE_MS = 5000;

const WHOLE = z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(0).max(1_000_000_000));
const RATIO = z.string().regex(/^(0(\.\d+)?|\.\d+|1e-\d+|\d(\.\d+)?e-\d+)$/).transform(Number).pipe(z.number().gt(0).lt(1));

function setting<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T>, allowed: string): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const r = schema.safeParse(raw.trim());
  if (!r.success) throw new Error(`${name}: "${raw}" is not allowed (${allowed})`);
  return r.data;
}

/**
 * INTEGRITY_UNDELIVERED_LIMIT (whole number, default 0), INTEGRITY_SPAN_MS (whole ms, default 1000),
 * INTEGRITY_SETTLE_MS (whole ms up to 120000, default 5000), INTEGRITY_LATE_LIMIT and INTEGRITY_REORDERED_LIMIT
 * (whole numbers; unset: late reported only, reordered per profile), INTEGRITY_LOST_TARGET,
 * INTEGRITY_DUPLICATES_TARGET, INTEGRITY_UNDELIVERED_TARGET (a rate between 0 and 1 exclusive, or `none`).
 * Throws a one-line Error naming the setting.
 */
export function integrityOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): IntegrityOptions {
  const whole = 'a whole number ≥ 0';
  const settle = setting(env, 'INTEGRITY_SETTLE_MS', WHOLE.pipe(z.number().max(120_000)), 'a whole number of ms from 0 to 120000');
  const targets: Partial<Record<RateKey, number | null>> = {};
  for (const k of RATE_KEYS) {
    const name = `INTEGRITY_${k.toUpperCase()}_TARGET`;
    const raw = env[name];
    if (raw?.trim() === 'none') targets[k] = null;
    else {
      const v = setting(env, name, RATIO, 'a rate between 0 and 1 exclusive, e.g. 0.001, or none');
      if (v !== undefined) targets[k] = v;
    }
  }
  return {
    undeliveredLimit: setting(env, 'INTEGRITY_UNDELIVERED_LIMIT', WHOLE, whole) ?? 0,
    spanMs: setting(env, 'INTEGRITY_SPAN_MS', WHOLE, whole) ?? 1000,
    settleMs: settle ?? DEFAULT_SETTLE_MS,
    lateLimit: setting(env, 'INTEGRITY_LATE_LIMIT', WHOLE, whole),
    reorderedLimit: setting(env, 'INTEGRITY_REORDERED_LIMIT', WHOLE, whole),
    targets,
  };
}

/** The rate targets and order limit in force: the profile's, refined by the settings. */
export function effectiveTargets(profile: IntegrityTargets | undefined, o: IntegrityOptions): { rates: Partial<Record<RateKey, number>>; reorderedMax: number } {
  const fromProfile: Partial<Record<RateKey, number | undefined>> = { lost: profile?.lostRateMax, duplicates: profile?.duplicateRateMax, undelivered: profile?.undeliveredRateMax };
  const rates: Partial<Record<RateKey, number>> = {};
  for (const k of RATE_KEYS) {
    const v = o.targets && k in o.targets ? o.targets[k] : fromProfile[k];
    if (typeof v === 'number') rates[k] = v;
  }
  return { rates, reorderedMax: o.reorderedLimit ?? profile?.reorderedMax ?? 0 };
}
