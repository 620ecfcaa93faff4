/**
 * The vocabulary several lib/ modules share: profile names, run phases and fault windows. It lives here, apart
 * from the modules that give these names meaning (`profiles.ts`, `phase.ts`, `config.ts`), so that those
 * modules (and `slo.ts`, `ws.ts`, `rest.ts`, `load.ts`, `suite.ts`) can all use it without importing each other
 * in a circle. PURE: no k6, no Node; imports nothing.
 */

/** The load profiles (`lib/profiles.ts` defines each one). */
export const PROFILE_NAMES = ['smoke', 'baseline', 'stage1', 'stage2', 'stage3', 'failover'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** Phase of the run at a given moment (`lib/phase.ts: phaseAt`); samples carry it as the `phase` tag. */
export const PHASES = ['baseline', 'fault', 'recovery'] as const;
export type Phase = (typeof PHASES)[number];

/** One fault window from FAULT_WINDOWS: [startS, endS) seconds after load start. */
export type FaultWindow = readonly [startS: number, endS: number];
