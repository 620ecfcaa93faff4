/**
 * `npm run chaos -- <status|heal|inject>`: the ledger's faults now, healing them (also those a killed drill left),
 * and one fault by hand. The flag table below makes both the parser and --help.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { allowRemoteConnections } from '../../runner/connections.js';
import { commandOf, helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from '../../runner/cli-flags.js';
import { checkLoopback } from '../../runner/smoke-config.js';
import { readTargetFile, TargetFileError } from '../../runner/target-file.js';
import { withRecordedPids } from '../pid-state.js';
import { FaultUsageError } from '../drivers/driver.js';
import { faultTargets, findFaultTarget } from '../fault-targets.js';
import { FAULT_KINDS, FaultStep } from '../faults.js';
import { claimsDirOf, liveClaims } from '../drill/claims.js';
import { defaultLedgerPath, formatProblem, Ledger, ledgerPathProblem, ownerAlive, type LedgerFault } from '../ledger.js';
import { defaultDrivers, Nemesis } from '../nemesis.js';
import { exitOnError, parseOrUsage, UsageError } from './args.js';
import { didYouMean } from '../../runner/cli-flags.js';

export const CHAOS_COMMAND: CommandSpec = {
  invocation: 'npm run chaos --',
  usage: ['status [--ledger <file>] [--allow-remote]', 'heal [--all] [--ledger <file>] [--target <file>] [--allow-remote]', `inject --fault <${FAULT_KINDS.join('|')}> --node <name> [--target <file>] [--ledger <file>] [--allow-remote]`],
  about: `Faults through the ledger (an append-only file, 0600, every line validated against its driver's schema).
A fault injected here stays until healed: heal undoes every active fault of the ledger, also those a drill
killed with SIGKILL left behind. A ledger line that cannot be read or is invalid is reported, and status and
heal then exit 1 (a damaged ledger may hide a fault); a ledger another user owns or may write is not acted on.`,
  commands: [
    { name: 'status', help: 'the drills running against a target file (the nodes they hold), what the ledger says is injected now and what each driver sees of it, with the drill (run id, pid) that injected each fault and whether it still runs' },
    { name: 'heal', help: 'heal every active fault (SIGCONT, restart from the recorded command, remove toxics, enable a cut database link, unpause/start/reconnect containers), except those of a drill that still runs (it heals its own)' },
    { name: 'inject', help: 'inject one fault now (no load, no schedule); undo it with heal' },
  ],
  flags: [
    { name: 'ledger', type: 'string', value: '<file>', help: 'the fault ledger', default: '$CHAOS_LEDGER or .state/chaos-ledger.jsonl' },
    { name: 'target', type: 'string', value: '<file>', help: 'target file: inject finds the node in it; heal records restarted pids for the target file of the run that injected the fault, else for this one', default: '.state/target.json' },
    { name: 'all', type: 'boolean', help: 'heal: also the faults of a drill that still runs' },
    { name: 'fault', type: 'string', value: '<kind>', help: `inject: ${FAULT_KINDS.join(', ')}` },
    { name: 'node', type: 'string', value: '<name>', help: 'inject: the node, as the target file names it (dbman-1, chat-2, orghub, redis, ...)' },
    { name: 'allow-remote', type: 'boolean', help: 'let the drivers contact hosts outside loopback (Toxiproxy APIs, nodes, DOCKER_HOST of a staging target)' },
    HELP_FLAG,
  ],
  environment: ['CHAOS_LEDGER  the ledger when --ledger is not given', 'DOCKER_HOST   the Docker engine of the docker driver (loopback or a unix socket unless --allow-remote)'],
  exitCodes: [[0, 'done (status: the ledger read whole)'], [1, 'a fault could not be healed or injected, or the ledger has lines it cannot use'], [2, 'bad usage (nothing injected, healed or contacted)']],
  examples: ['npm run chaos -- status', 'npm run chaos -- heal', 'npm run chaos -- inject --fault pause --node dbman-2 --target .state/target.json'],
};

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
  const { values, positionals } = parseCommandLine(CHAOS_COMMAND, argv, { positionals: true });
  if (values.help) {
    console.log(helpText(CHAOS_COMMAND));
    return 0;
  }
  const cmd = commandOf(CHAOS_COMMAND, positionals);
  if (positionals.length > 1) throw new UsageError(positionals[1]!, `${positionals[1]}: unexpected argument after ${cmd}`);
  if (cmd !== 'inject') {
    const wrong = (['fault', 'node'] as const).find((k) => values[k] !== undefined);
    if (wrong) throw new UsageError(`--${wrong}`, `--${wrong}: only with inject, not with ${cmd}`);
  }
  if (cmd !== 'heal' && values.all !== undefined) throw new UsageError('--all', `--all: only with heal, not with ${cmd}`);
  const ledgerPath = (values.ledger as string | undefined) ?? defaultLedgerPath();
  const setting = values.ledger !== undefined ? '--ledger' : process.env.CHAOS_LEDGER !== undefined ? 'CHAOS_LEDGER' : '--ledger';
  const pathProblem = existsSync(ledgerPath) || cmd === 'inject' ? ledgerPathProblem(ledgerPath) : undefined;
  if (pathProblem) throw new UsageError(setting, `${setting}: ${pathProblem}`);
  const allowRemote = values['allow-remote'] === true;
  allowRemoteConnections(allowRemote);
  const ledger = new Ledger(ledgerPath);
  const targetPath = resolve((values.target as string | undefined) ?? '.state/target.json');
  if (cmd === 'inject') return inject(values, ledger, targetPath, allowRemote);

  const nemesis = new Nemesis({
    ledger,
    drivers: defaultDrivers(join(dirname(ledger.path), 'chaos-logs')),
    targetFilePath: existsSync(targetPath) ? targetPath : undefined,
    log: (l) => console.log(`${stamp()} ${l}`),
  });
  const problems = ledger.problems().map((p) => formatProblem(ledger.path, p));
  const damaged = problems.length ? ` (and ${problems.length} ledger problem(s): a fault may be hidden; see above)` : '';
  for (const p of problems) console.error(`${stamp()} ${p}`);

  if (cmd === 'status') {
    const rows = await nemesis.status();
    for (const c of liveClaims(claimsDirOf(ledger.path))) {
      console.log(`drill running (pid ${c.pid}, since ${new Date(c.at).toISOString()}): ${c.what}; holds ${c.node} (${c.url})`);
    }
    if (rows.length === 0) console.log(`nothing injected per the lines read${damaged} (ledger ${ledger.path})`);
    for (const { fault, state } of rows) {
      const i = fault.inject;
      const since = new Date(fault.injectedAt).toISOString();
      const errs = fault.healErrors.length ? `; heal failed: ${fault.healErrors.at(-1)}` : '';
      const notApplied = fault.applied ? '' : fault.injectError ? ` (inject failed: ${fault.injectError})` : ' (intent written, not confirmed applied)';
      console.log(`${i.fault} on ${i.node} via ${i.driver} since ${since}${notApplied}${ownerText(fault)}: ${state}${errs}  [${i.id}]`);
    }
    return problems.length ? 1 : 0;
  }

  const skip = values.all === true ? () => false : ownedByRunningDrill;
  const left = ledger.active().filter(skip);
  for (const f of left) console.log(`${stamp()} left ${f.inject.fault} on ${f.inject.node} to its drill${ownerText(f)}: it heals it at its end; --all heals it now  [${f.inject.id}]`);
  const { healed, errors } = await nemesis.healAll((f) => !skip(f));
  if (healed.length === 0 && errors.length === 0 && left.length === 0) console.log(`${stamp()} ${problems.length ? `healed nothing${damaged}` : 'nothing to heal'} (ledger ${ledger.path})`);
  for (const e of errors) console.error(`${stamp()} could not heal ${e}`);
  return errors.length || problems.length ? 1 : 0;
}

async function inject(values: Record<string, unknown>, ledger: Ledger, targetPath: string, allowRemote: boolean): Promise<number> {
  if (values.fault === undefined) throw new UsageError('--fault', `--fault: missing; allowed: ${FAULT_KINDS.join(', ')}`);
  if (!(FAULT_KINDS as readonly string[]).includes(values.fault as string)) {
    throw new UsageError('--fault', `--fault: "${values.fault}" is not a fault${didYouMean(values.fault as string, FAULT_KINDS)}; allowed: ${FAULT_KINDS.join(', ')}`);
  }
  if (values.node === undefined) throw new UsageError('--node', '--node: missing; allowed: a node of the target file, e.g. dbman-1');
  const step = parseOrUsage(FaultStep, { fault: values.fault, node: values.node, at: 0, for: 0 });
  let target;
  try {
    target = readTargetFile(targetPath);
  } catch (err) {
    if (err instanceof TargetFileError) throw new UsageError('--target', `--target: ${err.message}`);
    throw err;
  }
  checkLoopback(target, allowRemote, (key) => `--target ${key}`);
  const nemesis = new Nemesis({ ledger, drivers: defaultDrivers(join(dirname(ledger.path), 'chaos-logs')), targetFilePath: targetPath, log: (l) => console.log(`${stamp()} ${l}`) });
  // a node a heal started again runs under the pid recorded in the suite's own state, not the file's
  target = withRecordedPids(target, nemesis.pids.live(targetPath));
  const node = findFaultTarget(target, step.node);
  const names = faultTargets(target).map((c) => c.name);
  if (!node) throw new UsageError('--node', `--node: no node ${step.node} in ${targetPath}${didYouMean(step.node, names)}; nodes: ${names.join(', ')}`);
  let r;
  try {
    r = await nemesis.inject(step, node);
  } catch (err) {
    // no driver reaches the node, or its access (proxy, container) is not there: a configuration error, nothing injected
    if (err instanceof FaultUsageError) throw new UsageError('--node', `--node: ${err.message}`);
    throw err;
  }
  console.log(`${stamp()} injected ${step.fault} on ${step.node} at ${new Date(r.at).toISOString()}; undo with: npm run chaos -- heal`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => exitOnError(err, 'chaos'),
);
