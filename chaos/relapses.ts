/**
 * Relapses: the SLO held (failover done: `holdS` good seconds in a row), then broke again while the fault lasted.
 * With a frozen node, every cooldown of the app services' dbman client ends with requests waiting a full timeout on
 * that node again (the contract: "the stall repeats"), so one fault can cost several stalls. Pure, over the
 * per-second buckets of chaos/figures.ts.
 */
import { isGood, type Series, type Slo } from './figures.js';

export interface Relapse {
  /** Seconds from inject to the relapse's first bad second. */
  startOffsetS: number;
  /** Bad seconds in a row. */
  seconds: number;
}

/**
 * Every run of bad seconds between inject and heal that follows an earlier bad run (the first stall: the failover)
 * and at least `holdS` good seconds in a row after it: the SLO held, then broke again.
 */
export function relapsesOf(series: Series, w: { injectAt: number; healAt: number }, slo: Slo, holdS: number): Relapse[] {
  const { buckets } = series;
  if (!buckets.length) return [];
  const first = buckets[0]!.second;
  const injSec = Math.floor(w.injectAt / 1000);
  const from = Math.max(0, injSec - first);
  const to = Math.min(buckets.length - 1, Math.floor(w.healAt / 1000) - first);
  const out: Relapse[] = [];
  const push = (start: number, end: number) => out.push({ startOffsetS: Math.max(0, first + start - injSec), seconds: end - start });
  let seenBad = false;
  let good = 0;
  let badStart = -1;
  let isRelapse = false;
  for (let i = from; i <= to; i++) {
    if (isGood(buckets[i]!, slo)) {
      if (badStart !== -1) {
        if (isRelapse) push(badStart, i);
        badStart = -1;
      }
      good += 1;
    } else if (badStart === -1) {
      badStart = i;
      isRelapse = seenBad && good >= holdS;
      seenBad = true;
      good = 0;
    }
  }
  if (badStart !== -1 && isRelapse) push(badStart, to + 1);
  return out;
}

/**
 * The drill's threshold on relapses: relapses longer than `maxRelapseS` must number at most `maxRelapses`. A relapse
 * of a second or two is a client that pays one short timeout after each cooldown; a long one is the stall back.
 */
export function judgeRelapses(fault: string, node: string, relapses: readonly Relapse[], limits: RelapseLimits, service?: string): string[] {
  const long = relapses.filter((r) => r.seconds > limits.maxRelapseS);
  if (long.length <= limits.maxRelapses) return [];
  const list = long.map((r) => `${r.seconds}s at +${r.startOffsetS}s`).join(', ');
  const tags = `phase:fault,fault:${fault},node:${node}${service ? `,service:${service}` : ''}`;
  return [`relapses{${tags}}: <=${limits.maxRelapses} longer than ${limits.maxRelapseS}s (observed ${long.length}: ${list})`];
}

export interface RelapseLimits {
  maxRelapses: number;
  maxRelapseS: number;
}

/**
 * One fault's relapse breaches: each steady service's own relapses (a breach per service, tagged with it), and the
 * relapses of every request mixed only when no service breached on its own (a service too sparse to be judged
 * alone still counts there). Judging the mixed series alone let session's and tenanthub's fast requests hide a
 * 3 s chat stall as one bad second.
 */
export function judgeFaultRelapses(
  f: { fault: string; node: string; relapses?: readonly Relapse[]; services?: Record<string, { relapses?: readonly Relapse[] }> },
  limits: RelapseLimits,
): string[] {
  const perService = Object.entries(f.services ?? {}).flatMap(([svc, s]) => (s.relapses ? judgeRelapses(f.fault, f.node, s.relapses, limits, svc) : []));
  if (perService.length) return perService;
  return f.relapses ? judgeRelapses(f.fault, f.node, f.relapses, limits) : [];
}
