/**
 * The fault-driver interface. A driver knows one way to reach a component (a local pid, a Toxiproxy proxy, a
 * Docker container) and turns a fault kind into an inject action and its idempotent heal.
 *
 * The split follows Chaos Toolkit (each fault = method + rollback) and Jepsen (the nemesis, i.e. the drivers
 * plus the ledger, knows nothing of the load generator or the checker):
 *   prepare(step, node) → handle   reads what is needed to inject and heal, changes nothing;
 *                                   the handle is JSON and goes into the ledger before inject
 *   inject(kind, handle)            applies the fault
 *   heal(kind, handle)              undoes it; safe to call twice, in another process, after a crash
 *   inspect(kind, handle)           says whether the fault is still in effect (for `chaos status`)
 *
 * Issue 5's docker driver implements the same interface with `faults.container` as its access.
 */
import type { Component } from '../../runner/target-file.js';
import type { FaultKind, FaultStep } from '../faults.js';
import type { DriverName } from '../ledger.js';

export interface HealOutcome {
  /** One line for the log and the ledger: what heal did (or that there was nothing left to do). */
  detail: string;
  /** A heal that restarted a process reports the new pid. */
  newPid?: number;
}

export interface FaultDriver<H = unknown> {
  readonly name: DriverName;
  readonly kinds: readonly FaultKind[];
  /** Whether the target file gives this driver a way to reach the node. */
  reaches(node: Component): boolean;
  prepare(step: FaultStep, node: Component): Promise<H>;
  /** Applies the fault; a fault that starts a process (restart) reports its new pid. */
  inject(kind: FaultKind, handle: H): Promise<void | { newPid?: number }>;
  heal(kind: FaultKind, handle: H): Promise<HealOutcome>;
  inspect(kind: FaultKind, handle: H): Promise<string>;
}

export class FaultUsageError extends Error {}

/** Picks the first driver (in the order given) that knows the fault and reaches the node. */
export function pickDriver(drivers: readonly FaultDriver[], kind: FaultKind, node: Component): FaultDriver {
  const d = drivers.find((drv) => drv.kinds.includes(kind) && drv.reaches(node));
  if (d) return d;
  const knowing = drivers.filter((drv) => drv.kinds.includes(kind)).map((drv) => drv.name);
  const access = Object.keys(node.faults ?? {}).join(', ') || 'none';
  throw new FaultUsageError(
    `fault ${kind} on ${node.name}: no driver reaches it (fault needs ${knowing.join(' or ') || 'an unknown driver'}; node gives faults access: ${access})`,
  );
}
