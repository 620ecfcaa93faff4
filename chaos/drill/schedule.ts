/**
 * The drill's fault schedule as data (Jepsen's generator for the nemesis): `spec.faults` expanded into one
 * ordered list of timed operations, inject and heal, in seconds after load start. Pure; the drill's method
 * (method.ts) interprets the list against k6's clock.
 */
import type { FaultStep } from '../faults.js';

export interface ScheduledOp {
  /** Seconds after load start (k6's phase clock, the zero of FAULT_WINDOWS). */
  atS: number;
  op: 'inject' | 'heal';
  /** Index of the fault in spec.faults: a heal acts on what its fault's inject did. */
  fault: number;
  step: FaultStep;
}

/**
 * Rank of an operation among those due at the same second: heals of faults injected earlier first (their node
 * comes back before the next one goes), then injects, then the heal of a fault with no span (a `restart` with
 * `for: 0`) right after its own inject.
 */
function rank(o: ScheduledOp): number {
  if (o.op === 'inject') return 1;
  return o.step.for === 0 ? 2 : 0;
}

/**
 * Every fault as an inject at `at` and a heal at `at + for`, ordered by time, then by rank (see above), then by
 * the fault's place in the spec. Overlapping faults (on different nodes) interleave by time.
 */
export function expandSchedule(faults: readonly FaultStep[]): ScheduledOp[] {
  const ops = faults.flatMap((step, fault): ScheduledOp[] => [
    { atS: step.at, op: 'inject', fault, step },
    { atS: step.at + step.for, op: 'heal', fault, step },
  ]);
  return ops.sort((a, b) => a.atS - b.atS || rank(a) - rank(b) || a.fault - b.fault);
}
