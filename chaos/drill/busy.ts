/**
 * Refuses a drill on a node another run is faulting: the ledger's active faults on the same node of the same
 * deployment (name and URL as the target file names them), whether their drill still runs or died leaving them
 * unhealed. PURE: the caller reads the ledger (`Ledger.activeOn`, `ownerAlive`) and throws the message as a
 * UsageError (exit 2, before anything starts).
 */
import type { TargetFile } from '../../runner/target-file.js';
import { findFaultTarget } from '../fault-targets.js';
import type { LedgerFault } from '../ledger.js';
import type { Claim } from './claims.js';

/** An active fault of the ledger and whether its owner (the process that injected it) runs; undefined: unknown. */
export interface ActiveFault {
  fault: LedgerFault;
  ownerAlive: boolean | undefined;
}

/** The ledger's active faults on `node` (name and URL), as `activeOn` returns them. */
export type ActiveOn = (node: { name: string; url: string }) => readonly ActiveFault[];

/** One line for the first fault of the spec whose node is being faulted already, or undefined. */
type FaultNodes = { faults: readonly { node: string }[] };

const settingOf = (spec: FaultNodes, i: number) => (spec.faults.length > 1 ? `faults.${i}.node` : '--node');
const ALLOWED = 'allowed: a node no running drill faults (npm run chaos -- status)';

export function busyNodeError(spec: FaultNodes, target: TargetFile, activeOn: ActiveOn): string | undefined {
  for (const [i, f] of spec.faults.entries()) {
    const node = findFaultTarget(target, f.node);
    if (!node) continue; // an unknown node is the spec check's error
    const busy = activeOn({ name: node.name, url: node.url });
    const running = busy.find((b) => b.ownerAlive !== false);
    const left = busy[0];
    if (!running && !left) continue;
    const setting = settingOf(spec, i);
    const { inject } = (running ?? left)!.fault;
    const by = [inject.runId && `run ${inject.runId}`, inject.owner && `pid ${inject.owner.pid}`].filter(Boolean).join(', ');
    const what = `${inject.fault} since ${new Date(inject.at).toISOString()}${by ? ` (${by})` : ''}`;
    if (running) return `${setting}: ${node.name} is being faulted by another drill: ${what}; ${ALLOWED}`;
    return `${setting}: ${node.name} still has a fault its drill never healed: ${what}, that drill is gone; heal it first: npm run chaos -- heal`;
  }
  return undefined;
}

/** One line for a node another running drill has claimed (claims.ts: from its start, before its first inject). */
export function claimedNodeError(spec: FaultNodes, busy: { busy: string; claim: Claim }): string {
  const i = Math.max(0, spec.faults.findIndex((f) => f.node === busy.busy));
  const { claim } = busy;
  return `${settingOf(spec, i)}: ${busy.busy} is being faulted by another drill: ${claim.what} (pid ${claim.pid}, started ${new Date(claim.at).toISOString()}); ${ALLOWED}`;
}
