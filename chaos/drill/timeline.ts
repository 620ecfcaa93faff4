/**
 * A health timeline: the changes of one yes/no state of one component over time (ready, live, in the balancer's
 * traffic), as a watcher saw them by polling, with the first sample and a closing sample at the end. Pure queries
 * over it; the figures (chaos/health-figures.ts) and the recovery time use them.
 */

export interface StatePoint {
  /** ISO time of the sample that saw the state change. */
  t: string;
  ok: boolean;
}

/**
 * The first time at or after `fromMs` the state was `want` (a state already holding at fromMs counts at fromMs);
 * null when never seen before the timeline ends.
 */
export function firstAtOrAfter(tl: readonly StatePoint[], fromMs: number, want: boolean): number | null {
  let state: boolean | undefined;
  for (const p of tl) {
    const t = Date.parse(p.t);
    if (t <= fromMs) {
      state = p.ok;
      continue;
    }
    if (state === want) return fromMs;
    if (p.ok === want) return t;
    state = p.ok;
  }
  return state === want ? fromMs : null;
}

/**
 * Whether the state was `want` at every sample from `fromMs` to `toMs` (the state holding at fromMs included);
 * null when the timeline has no sample at or before `toMs` (the watcher never saw the component then).
 */
export function heldThroughout(tl: readonly StatePoint[], fromMs: number, toMs: number, want: boolean): boolean | null {
  let seen = false;
  let state: boolean | undefined;
  for (const p of tl) {
    const t = Date.parse(p.t);
    if (t > toMs) break;
    seen = true;
    if (t <= fromMs) {
      state = p.ok;
      continue;
    }
    if (p.ok !== want) return false;
  }
  if (!seen) return null;
  return state === undefined || state === want;
}

/** Keeps the changes of a polled state: `record` appends a point only when the state differs from the last one. */
export class TimelineRecorder {
  readonly points: StatePoint[] = [];

  record(ok: boolean, at = new Date()): void {
    if (this.points.at(-1)?.ok !== ok) this.points.push({ t: at.toISOString(), ok });
  }

  /** Closes the timeline with its last state, so a reader sees how it ended. */
  close(at = new Date()): void {
    const last = this.points.at(-1);
    if (last) this.points.push({ t: at.toISOString(), ok: last.ok });
  }
}
