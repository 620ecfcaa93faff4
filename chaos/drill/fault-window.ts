/**
 * Fault windows sized from the app services' dbman client (the target file's `dbmanClient`; absent: the
 * contract's defaults 5000 ms / 3 / 10 s). With a frozen node the stall comes back after every cooldown. Each cycle
 * is two client timeouts plus one cooldown: the requests sent during the stall wait one timeout and trip the
 * threshold; the ones still stuck fail one timeout later and, every `failThreshold` of them, set the node aside
 * again, so the cooldown runs from the end of the stall's last timeouts. Measured on the reference target with
 * the real defaults (slow-failover): stalls start at +0 s and +20 s after a pause, 5 s each; the contract says
 * "about 20 s". A fault shorter than the first stall plus two cycles cannot show a relapse twice.
 *
 *   cycle   = 2 × timeoutMs + cooldownMs
 *   needed  = timeoutMs + 2 × cycle + holdS + 2 s     (first stall, two relapses, the SLO seen to hold, margin)
 *
 * Without `--for` a stall fault (pause, partition: a node that hangs) lasts max(needed, 20 s); with a shorter
 * `--for` the drill prints a warning naming the relapse it cannot see. Pure.
 */
import { CONTRACT_CLIENT_SETTINGS, type DbmanClientSettings } from '../../runner/target-file.js';

/** Faults that leave a node hanging (requests wait a full client timeout), the ones whose stall repeats. */
export const STALL_FAULTS = ['pause', 'partition'] as const;
/** The fault length without --for, for every fault (and the floor of a sized one). */
export const DEFAULT_FOR_S = 20;

export interface ClientCycle {
  settings: DbmanClientSettings;
  /** Seconds from one stall's start to the next one's. */
  cycleS: number;
  /** Seconds of fault needed to see the first stall and two relapses and the SLO hold after them. */
  neededS: number;
  /** Where the settings came from. */
  source: 'target file' | 'contract defaults';
}

export function clientCycle(settings: DbmanClientSettings | undefined, holdS: number): ClientCycle {
  const s = settings ?? CONTRACT_CLIENT_SETTINGS;
  const cycleS = (2 * s.timeoutMs + s.cooldownMs) / 1000;
  return { settings: s, cycleS, neededS: Math.ceil(s.timeoutMs / 1000 + 2 * cycleS + holdS + 2), source: settings ? 'target file' : 'contract defaults' };
}

export interface SizedFault {
  fault: string;
  node: string;
  at: number;
  for: number;
}

/**
 * The fault lengths of a drill: a stall fault without --for gets `max(needed, DEFAULT_FOR_S)`; every other one
 * keeps its length. Returns the lengths and the warnings for stall faults given a shorter --for.
 */
export function sizeFaults<F extends SizedFault>(faults: readonly F[], forGiven: readonly boolean[], cycle: ClientCycle): { faults: F[]; warnings: string[] } {
  const warnings: string[] = [];
  const out = faults.map((f, i) => {
    if (!(STALL_FAULTS as readonly string[]).includes(f.fault)) return f;
    if (!forGiven[i]) return { ...f, for: Math.max(cycle.neededS, DEFAULT_FOR_S) };
    if (f.for < cycle.neededS) {
      const s = cycle.settings;
      const seen = Math.max(0, Math.floor((f.for - s.timeoutMs / 1000) / cycle.cycleS));
      warnings.push(
        `warning: ${f.fault} ${f.node} lasts ${f.for}s, shorter than the ${cycle.neededS}s the client needs to show its stall twice more ` +
          `(${cycle.source}: 2 × timeout ${s.timeoutMs} ms + cooldown ${s.cooldownMs} ms = a ${cycle.cycleS}s cycle): ` +
          `${seen >= 2 ? '' : `the ${seen === 0 ? 'first relapse (due ~' + cycle.cycleS + 's after inject) and the second' : 'second relapse (due ~' + 2 * cycle.cycleS + 's after inject)'} cannot be seen`}`,
      );
    }
    return f;
  });
  return { faults: out, warnings };
}
