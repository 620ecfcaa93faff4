/**
 * The drill's edge: every input checked before anything starts or is sent (bad input is a UsageError, exit 2):
 * the integrity settings, --target (read, every fault's node and driver, loopback unless --allow-remote), the
 * flags that only shape the reference target, TARGET_FLAWS.
 */
import { resolve } from 'node:path';
import { checkLoopback } from '../../runner/smoke-config.js';
import { readTargetFile, TargetFileError, type TargetFile } from '../../runner/target-file.js';
import { parseFlaws } from '../../reference-target/flaws.js';
import { integrityOptionsFromEnv, type IntegrityOptions } from '../../integrity/index.js';
import { UsageError } from '../cli/args.js';
import { pickDriver } from '../drivers/driver.js';
import { findFaultTarget, faultTargets } from '../fault-targets.js';
import { SLOW_PATH_NODE } from '../slow-path.js';
import { NETWORK_FAULTS } from '../faults.js';
import { defaultLedgerPath, Ledger } from '../ledger.js';
import { defaultDrivers } from '../nemesis.js';
import type { DrillSpec } from './spec.js';

export interface DrillEdgeInput {
  spec: DrillSpec;
  targetPath?: string;
  allowRemote?: boolean;
  ledgerPath?: string;
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

const asUsage = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
};

function givenTarget(spec: DrillSpec, path: string, allowRemote: boolean): { target: TargetFile; path: string } {
  let target: TargetFile;
  try {
    target = readTargetFile(path);
  } catch (err) {
    if (err instanceof TargetFileError) throw new UsageError(`--target: ${err.message}`);
    throw err;
  }
  checkSpecAgainstTarget(spec, target, path);
  // the same rule as the smoke: a target outside loopback only with --allow-remote
  asUsage(() => checkLoopback(target, allowRemote, (field) => `--target ${field}`));
  return { target, path: resolve(path) };
}

/** Validates the drill's input (throws UsageError naming the setting); starts and sends nothing. */
export function validateDrillInput(o: DrillEdgeInput): DrillInput {
  const { spec } = o;
  const integrityOptions = asUsage(() => integrityOptionsFromEnv());
  if (o.targetPath && (spec.proxy || spec.chatLb || spec.dbmanLb)) {
    const set = [spec.proxy && '--proxy', spec.chatLb && '--lb', spec.dbmanLb && '--dbman-lb'].filter(Boolean).join(', ');
    throw new UsageError(`${set}: only without --target (they shape the reference target the drill starts; a target file describes its own proxies and balancers)`);
  }
  if (!o.targetPath && o.allowRemote) throw new UsageError('--allow-remote: only with --target <file> (the reference target runs on this machine)');
  const given = o.targetPath ? givenTarget(spec, o.targetPath, o.allowRemote ?? false) : undefined;
  const flaws = asUsage(() => parseFlaws(process.env.TARGET_FLAWS));
  return { spec, given, allowRemote: (o.allowRemote ?? false) && given !== undefined, flaws, integrityOptions, ledger: new Ledger(o.ledgerPath ?? defaultLedgerPath()) };
}
