/**
 * The drill's edge: every input checked before anything starts or is sent (bad input is a UsageError, exit 2),
 * by chaos/drill/validate.ts; and the check of a started reference target against the spec.
 */
import { resolve } from 'node:path';
import type { TargetFile } from '../../runner/target-file.js';
import type { IntegrityOptions } from '../../integrity/index.js';
import { UsageError } from '../cli/args.js';
import { pickDriver } from '../drivers/driver.js';
import { findFaultTarget, faultTargets } from '../fault-targets.js';
import { SLOW_PATH_NODE } from '../slow-path.js';
import { NETWORK_FAULTS } from '../faults.js';
import { Ledger } from '../ledger.js';
import { defaultDrivers } from '../nemesis.js';
import type { DrillSpec } from './spec.js';
import { validateDrill } from './validate.js';

export interface DrillEdgeInput {
  spec: DrillSpec;
  targetPath?: string;
  allowRemote?: boolean;
  ledgerPath?: string;
  /** The reference target will be started on Docker (its nodes are reached through containers). */
  docker?: boolean;
  /** The drill file the spec came from (errors name its keys), when it came from one. */
  drillFile?: string;
}

/** Everything the drill's steps need from its input, checked. */
export interface DrillInput {
  spec: DrillSpec;
  /** A given target (not started or stopped by the drill), with its file's absolute path. */
  given?: { target: TargetFile; path: string };
  /** --allow-remote with a given target. */
  allowRemote: boolean;
  /** TARGET_FLAWS, for the reference target the drill starts. */
  flaws: string[];
  integrityOptions: IntegrityOptions;
  ledger: Ledger;
}

/** Checks that every fault's node exists and has a driver that reaches it: a UsageError (exit 2) otherwise. */
export function checkSpecAgainstTarget(spec: DrillSpec, t: TargetFile, where: string): void {
  const drivers = defaultDrivers();
  // a Sentinel drill (sentinel.yaml) against a given target: its target file must describe the Sentinel topology
  if (spec.redisSentinel && !t.redisSentinel) throw new UsageError(`redisSentinel: ${where} has no redisSentinel (allowed: a target file with redisSentinel {masterName, sentinels}, or no --target)`);
  spec.faults.forEach((f, i) => {
    if (f.node === SLOW_PATH_NODE) return; // the drill's own slow path (slowConsumers), started after this check
    const node = findFaultTarget(t, f.node);
    const at = spec.faults.length > 1 ? `faults.${i}.node` : '--node';
    if (!node) throw new UsageError(`${at}: no node ${f.node} in ${where} (nodes: ${faultTargets(t).map((c) => c.name).join(', ')})`);
    try {
      pickDriver(drivers, f.fault, node);
    } catch (err) {
      const hint = (NETWORK_FAULTS as readonly string[]).includes(f.fault) || f.fault === 'db-cut'
        ? ' (a drill without --target puts proxies in front of the dbman nodes, on their PostgreSQL links and in front of Redis by itself)'
        : '';
      throw new UsageError(`${at}: ${(err as Error).message}${hint}`);
    }
  });
}

/**
 * Validates the drill's input (throws UsageError naming the setting the user wrote); starts, creates and sends
 * nothing. Every check is chaos/drill/validate.ts's: flags and drill file against the target (a target file, or
 * the reference target's shape), windows against the run's length, overlaps across nodes, the k6 environment,
 * the ledger path, TARGET_FLAWS, the integrity settings.
 */
export function validateDrillInput(o: DrillEdgeInput): DrillInput {
  const v = validateDrill({ spec: o.spec, targetPath: o.targetPath, docker: o.docker, allowRemote: o.allowRemote, ledgerPath: o.ledgerPath, drillFile: o.drillFile });
  const given = v.given && o.targetPath ? { target: v.given, path: resolve(o.targetPath) } : undefined;
  return { spec: o.spec, given, allowRemote: (o.allowRemote ?? false) && given !== undefined, flaws: v.flaws, integrityOptions: v.integrity, ledger: new Ledger(v.ledgerPath) };
}
