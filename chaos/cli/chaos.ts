/**
 * `npm run chaos -- <command>`
 *
 *   status                         the drills running against a target file (the nodes they hold), what the
 *                                  ledger says is injected now and what each driver sees of it, with the drill
 *                                  (run id, pid) that injected each fault and whether it still runs
 *   heal [--all]                   heal every active fault in the ledger (SIGCONT, restart, remove toxics,
 *                                  enable a cut database link again, unpause/start/reconnect containers), except
 *                                  those of a drill that still runs (it heals its own; --all heals them too)
 *   inject --fault F --node N      inject one fault now (no load, no schedule); heal it with `heal`
 *
 * Options: --ledger <file> (default $CHAOS_LEDGER or .state/chaos-ledger.jsonl),
 *          --target <file> (default .state/target.json; inject reads it; heal updates restarted pids in the
 *          target file of the run that injected the fault, else in this one).
 * Exit: 0 done, 1 something could not be healed / injected, 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readTargetFile, TargetFileError } from '../../runner/target-file.js';
import { withRecordedPids } from '../pid-state.js';
import { FaultUsageError } from '../drivers/driver.js';
import { faultTargets, findFaultTarget } from '../fault-targets.js';
import { FAULT_KINDS, FaultStep } from '../faults.js';
import { claimsDirOf, liveClaims } from '../drill/claims.js';
import { defaultLedgerPath, Ledger, ownerAlive, type LedgerFault } from '../ledger.js';
import { defaultDrivers, Nemesis } from '../nemesis.js';
import { exitOnError, parseFlags, parseOrUsage, UsageError } from './args.js';

const USAGE = `usage: chaos <status|heal [--all]|inject> [--ledger file] [--target file] [--fault ${FAULT_KINDS.join('|')} --node name]`;
const stamp = () => new Date().toISOString();

/** A fault whose drill (another process) still runs: that drill heals it at its end. */
const ownedByRunningDrill = (f: LedgerFault) => ownerAlive(f) === true && f.inject.owner!.pid !== process.pid;

/** `run X (pid N, running)`, `pid N, gone`, or '' for a line without an owner. */
function ownerText(f: LedgerFault): string {
  const alive = ownerAlive(f);
  const run = f.inject.runId ? `run ${f.inject.runId}, ` : '';
  if (alive === undefined) return f.inject.runId ? ` run ${f.inject.runId}` : '';
  return ` (${run}pid ${f.inject.owner!.pid}, ${alive ? 'still running' : 'gone'})`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ledger: { type: 'string' },
    target: { type: 'string' },
    fault: { type: 'string' },
    node: { type: 'string' },
    all: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const cmd = positionals[0];
  if (!cmd || !['status', 'heal', 'inject'].includes(cmd) || positionals.length > 1) {
    throw new UsageError(`command: expected one of status, heal, inject (${USAGE})`);
  }
  const ledger = new Ledger((values.ledger as string | undefined) ?? defaultLedgerPath());
  const targetPath = resolve((values.target as string | undefined) ?? '.state/target.json');
  const nemesis = new Nemesis({
    ledger,
    drivers: defaultDrivers(join(dirname(ledger.path), 'chaos-logs')),
    targetFilePath: existsSync(targetPath) ? targetPath : undefined,
    log: (l) => console.log(`${stamp()} ${l}`),
  });

  if (cmd === 'status') {
    const rows = await nemesis.status();
    for (const c of liveClaims(claimsDirOf(ledger.path))) {
      console.log(`drill running (pid ${c.pid}, since ${new Date(c.at).toISOString()}): ${c.what}; holds ${c.node} (${c.url})`);
    }
    if (rows.length === 0) {
      console.log(`nothing injected (ledger ${ledger.path})`);
      return 0;
    }
    for (const { fault, state } of rows) {
      const i = fault.inject;
      const since = new Date(fault.injectedAt).toISOString();
      const errs = fault.healErrors.length ? `; heal failed: ${fault.healErrors.at(-1)}` : '';
      const notApplied = fault.applied ? '' : fault.injectError ? ` (inject failed: ${fault.injectError})` : ' (intent written, not confirmed applied)';
      console.log(`${i.fault} on ${i.node} via ${i.driver} since ${since}${notApplied}${ownerText(fault)}: ${state}${errs}  [${i.id}]`);
    }
    return 0;
  }

  if (cmd === 'heal') {
    const skip = values.all === true ? () => false : ownedByRunningDrill;
    const left = ledger.active().filter(skip);
    for (const f of left) console.log(`${stamp()} left ${f.inject.fault} on ${f.inject.node} to its drill${ownerText(f)}: it heals it at its end; --all heals it now  [${f.inject.id}]`);
    const { healed, errors } = await nemesis.healAll((f) => !skip(f));
    if (healed.length === 0 && errors.length === 0 && left.length === 0) console.log(`${stamp()} nothing to heal (ledger ${ledger.path})`);
    for (const e of errors) console.error(`${stamp()} could not heal ${e}`);
    return errors.length ? 1 : 0;
  }

  // inject
  const step = parseOrUsage(FaultStep, { fault: values.fault, node: values.node, at: 0, for: 0 });
  let target;
  try {
    target = readTargetFile(targetPath);
  } catch (err) {
    if (err instanceof TargetFileError) throw new UsageError(`--target: ${err.message}`);
    throw err;
  }
  // a node a heal started again runs under the pid recorded in the suite's own state, not the file's
  target = withRecordedPids(target, nemesis.pids.live(targetPath));
  const node = findFaultTarget(target, step.node);
  if (!node) throw new UsageError(`--node: no node ${step.node} in ${targetPath} (nodes: ${faultTargets(target).map((c) => c.name).join(', ')})`);
  let r;
  try {
    r = await nemesis.inject(step, node);
  } catch (err) {
    // no driver reaches the node, or its access (proxy, container) is not there: a configuration error, nothing injected
    if (err instanceof FaultUsageError) throw new UsageError(`--node: ${err.message}`);
    throw err;
  }
  console.log(`${stamp()} injected ${step.fault} on ${step.node} at ${new Date(r.at).toISOString()}; undo with: npm run chaos -- heal`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => exitOnError(err, 'chaos'),
);
