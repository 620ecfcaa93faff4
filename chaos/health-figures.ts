/**
 * Health figures of a `db-cut` (a dbman node loses PostgreSQL and must be taken out of traffic by its readiness
 * check), from the drill's polled timelines (chaos/drill/timeline.ts) and the ledger's real inject and heal times:
 *
 *   readyFlipS      inject → the node's /health/ready first not 200 (null: it never turned not-ready before heal)
 *   liveStayedUp    /health/live answered 200 at every poll from inject to heal (null: no liveness samples)
 *   readyBackS      heal → /health/ready 200 again (null: not before the drill ended)
 *   balancerOutS    dbman-lb topology: inject → the balancer took the node out of traffic (null: never)
 *   balancerBackS   dbman-lb topology: heal → the balancer put it back (null: not back, or never out)
 */
import { firstAtOrAfter, heldThroughout, type StatePoint } from './drill/timeline.js';

export interface DbCutFigures {
  readyFlipS: number | null;
  liveStayedUp: boolean | null;
  readyBackS: number | null;
  balancerOutS?: number | null;
  balancerBackS?: number | null;
}

/** Seconds to the hundredth: a flip seen by the first poll after inject is tens of ms, not 0. */
const seconds = (ms: number) => Math.max(0, Math.round(ms / 10) / 100);

export function dbCutFigures(
  w: { injectAt: number; healAt: number },
  states: { ready?: readonly StatePoint[]; live?: readonly StatePoint[]; balancer?: readonly StatePoint[] },
): DbCutFigures {
  const ready = states.ready ?? [];
  const flipAt = firstAtOrAfter(ready, w.injectAt, false);
  const backAt = firstAtOrAfter(ready, w.healAt, true);
  const out: DbCutFigures = {
    readyFlipS: flipAt === null || flipAt > w.healAt ? null : seconds(flipAt - w.injectAt),
    liveStayedUp: heldThroughout(states.live ?? [], w.injectAt, w.healAt, true),
    readyBackS: backAt === null ? null : seconds(backAt - w.healAt),
  };
  if (states.balancer) {
    const outAt = firstAtOrAfter(states.balancer, w.injectAt, false);
    const inAt = outAt === null ? null : firstAtOrAfter(states.balancer, Math.max(outAt, w.healAt), true);
    out.balancerOutS = outAt === null ? null : seconds(outAt - w.injectAt);
    out.balancerBackS = inAt === null ? null : seconds(inAt - w.healAt);
  }
  return out;
}

/** The limits a db-cut is judged by (DrillSlo fields). */
export interface DbCutLimits {
  maxReadyFlipS: number;
  maxRecoveryS: number;
}

/**
 * The drill thresholds of one db-cut, named like k6's: `ready_flip_time{phase:fault,...}`, `live_up{phase:fault,...}`,
 * `ready_back_time{phase:recovery,...}`. Returns the breaches (empty: all held).
 */
export function judgeDbCut(node: string, f: DbCutFigures, limits: DbCutLimits): string[] {
  const who = (phase: string) => `{phase:${phase},fault:db-cut,node:${node}}`;
  const out: string[] = [];
  if (f.readyFlipS === null || f.readyFlipS > limits.maxReadyFlipS) {
    out.push(`ready_flip_time${who('fault')}: <=${limits.maxReadyFlipS}s (observed ${f.readyFlipS === null ? '/health/ready never turned not-ready before heal' : `${f.readyFlipS}s`})`);
  }
  if (f.liveStayedUp !== true) {
    out.push(`live_up${who('fault')}: /health/live 200 throughout (observed ${f.liveStayedUp === null ? 'no samples' : 'not live during the fault'})`);
  }
  if (f.readyBackS === null || f.readyBackS > limits.maxRecoveryS) {
    out.push(`ready_back_time${who('recovery')}: <=${limits.maxRecoveryS}s (observed ${f.readyBackS === null ? 'not ready again before the drill ended' : `${f.readyBackS}s`})`);
  }
  return out;
}
