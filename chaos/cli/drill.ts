/**
 * `npm run drill -- --fault <kind> --node <name> ...` or `--file <drill file>`: see DRILL_COMMAND below (the one
 * table the parser and --help come from) and chaos/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../reference-target/launcher/build.js';
import { runStateFile } from '../../runner/run-dir.js';
import { startDockerStack } from '../../reference-target/launcher/docker-stack.js';
import { stopStack } from '../../reference-target/launcher/stack.js';
import { parseFlaws } from '../../reference-target/flaws.js';
import { FAULT_KINDS } from '../faults.js';
import { runDrill } from '../drill/run.js';
import { needsChatLb, needsProxy, specFromFlags } from '../drill/spec.js';
import { exitOnError, UsageError } from './args.js';
import { allowRemoteConnections, dockerHostRefusal } from '../../runner/connections.js';
import { helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from '../../runner/cli-flags.js';
import { PROFILE_NAMES } from '../../lib/profiles.js';
import { validateDrillInput } from '../drill/edge.js';

const DRILL_ABOUT = `Steady state → load (k6) → inject at T → heal at T+D → judge, as chaos/README.md describes. Everything given is
validated before anything starts (nodes and drivers, windows against the run's length, faults overlapping in
time, SCALE and the rest of the k6 environment, the ledger path, the target file).
Without --target the drill starts the reference target (TARGET_FLAWS=a,b) and stops it after. Network faults
(partition, latency, reset, bandwidth), db-cut and faults on redis then put Toxiproxy proxies in front of every
dbman node, on every dbman node's PostgreSQL link and in front of Redis (--proxy asks for them always).
--lb puts HAProxy in front of the chat instances (automatic for a fault on chat-N); --dbman-lb gives the app
services one dbman URL behind HAProxy, which health-checks /health/ready (the dbman-lb topology). --proxy, --lb
and --dbman-lb shape the reference target the drill starts: not with --target. --redis-sentinel starts it with
Redis behind Sentinel (a replica and three sentinels; not with --docker; with --target its file must have
redisSentinel): a stop, kill, pause or restart of
redis (the primary) is judged by its promotion (a majority of the sentinels names a new primary within
--max-promotion, polled every 100 ms), the fan-out gap per room and fan-out resuming in every room after it;
the replica (redis-replica-1) and the sentinels (sentinel-N) are fault targets too.
--for: a pause or partition without --for lasts long enough for the stall to come back twice, sized from the
target file's dbmanClient {timeoutMs, failThreshold, cooldownMs} (else the contract's 5000 / 3 / 10000):
timeout + 2 × (timeout + cooldown) + hold + 2 s, at least 20 s; a shorter --for prints a warning naming the
relapse it cannot see. Other faults default to 20 s. Relapses (the SLO held, then broke again before heal)
longer than --max-relapse count against --max-relapses. Every dbman node is also probed with a read-only
internal-API call (the target file's servingProbe, default tenants/list): a healed node must be ready AND
serving, and may be ready but failing for at most --max-ready-but-failing after heal.
Fault targets: dbman-N, chat-N, orghub, session(-N), tenanthub(-N), redis, postgres (with Sentinel also
redis-replica-1 and sentinel-N) and the load balancers, as the target file names them (a fault on session-N or
tenanthub-N starts the chat-LB topology: two of each behind balancers).
db-cut cuts a dbman node's PostgreSQL link (its proxy disabled): judged by its readiness flip (--max-ready-flip),
its liveness staying up and its readiness back (--max-recovery). A fault on chat-N is judged by the WS clients'
reconnects (seen, p95 within --max-reconnect-p95-ms).
A stop, kill, pause or restart of redis is judged by fan-out resuming in every room that had WS traffic before
(fanout_resume, within slo.maxResumeS); of postgres by every dbman node ready and serving again and a store
acknowledged (pg_recovery_time, within slo.maxPgRecoveryS, the owners' 5 minutes).
Drill files (chaos/drills/, --file): dbman-sequence.yaml, db-cut.yaml, network.yaml, chat-kill.yaml,
session-kill.yaml, bad-request-storm.yaml, redis-slow.yaml, slow-consumers.yaml (slowConsumers: a share of the
hot room's subscribers throttled; the healthy ones judged on their own), data-tier.yaml (restart Redis, then
PostgreSQL), sentinel.yaml (kill the Sentinel primary; redisSentinel: true).
--docker starts the reference target as containers and drives the faults with the docker driver (stop, kill,
pause, restart, partition by network disconnect); the stack is removed after.
A target file whose URLs are outside loopback (127.0.0.0/8, localhost, ::1), e.g. staging, needs --allow-remote.
With --target, a node another running drill faults (or left faulted: npm run chaos -- heal) is refused (exit 2).
The message integrity check runs after the heal (integrity/README.md).
Durations everywhere: 90s, 1m30s, 1500ms, 1h, or plain seconds. Ctrl-C / SIGTERM heal, stop k6 (its summary
kept) and the target; after a SIGKILL: npm run chaos -- heal, then npm run stack -- down.`;

export const DRILL_COMMAND: CommandSpec = {
  invocation: 'npm run drill --',
  usage: [
    `--fault <${FAULT_KINDS.join('|')}> --node <name> [--at 20s] [--for <sized>] [--profile failover] [--duration <d>] [--target <file> [--allow-remote] | --docker] [options]`,
    '--file <drill.yaml|drill.json> [--target <file> [--allow-remote] | --docker] [options]',
  ],
  about: DRILL_ABOUT,
  flags: [
    { name: 'fault', type: 'string', value: '<kind>', help: `the fault: ${FAULT_KINDS.join(', ')}` },
    { name: 'node', type: 'string', value: '<name>', help: 'the node, as the target names it: dbman-1, chat-2, orghub, session-1, tenanthub-1, redis, ...' },
    { name: 'at', type: 'string', value: '<duration>', help: 'inject this long after the load starts (at least 1s)', default: '20s' },
    { name: 'for', type: 'string', value: '<duration>', help: 'heal this long after the inject', default: 'pause/partition: sized from the client settings (see above); others 20s' },
    { name: 'file', type: 'string', value: '<file>', help: 'a drill file (YAML or JSON, at most 1 MiB): name, profile, duration, faults, slo, proxy, chatLb, dbmanLb' },
    { name: 'profile', type: 'string', value: '<name>', help: `the load profile: ${PROFILE_NAMES.join(', ')}`, default: 'failover' },
    { name: 'duration', type: 'string', value: '<duration>', help: 'the load (5s to 6h)', default: 'the last heal + 12s' },
    { name: 'target', type: 'string', value: '<file>', help: 'a target file (a real deployment); without it the drill starts the reference target' },
    { name: 'allow-remote', type: 'boolean', help: 'with --target: allow URLs outside loopback (staging)' },
    { name: 'docker', type: 'boolean', help: 'start the reference target as Docker containers (the docker driver)' },
    { name: 'proxy', type: 'boolean', help: 'without --target: Toxiproxy proxies always' },
    { name: 'lb', type: 'boolean', help: 'without --target: HAProxy in front of the chat instances' },
    { name: 'dbman-lb', type: 'boolean', help: 'without --target: the dbman-lb topology' },
    { name: 'redis-sentinel', type: 'boolean', help: 'without --target: Redis behind Sentinel (a replica and three sentinels; chat through Sentinel)' },
    { name: 'ledger', type: 'string', value: '<file>', help: 'the fault ledger', default: '$CHAOS_LEDGER or .state/chaos-ledger.jsonl' },
    { name: 'latency-ms', type: 'string', value: '<ms>', help: 'latency: added delay per direction', default: '1000' },
    { name: 'jitter-ms', type: 'string', value: '<ms>', help: 'latency: +/- jitter', default: '200' },
    { name: 'rate-kbps', type: 'string', value: '<KB/s>', help: 'bandwidth: the rate', default: '16' },
    { name: 'hold', type: 'string', value: '<s>', help: 'good seconds in a row that make failover (or recovery) done, 1-60', default: '3' },
    { name: 'slo-p95-ms', type: 'string', value: '<ms>', help: 'highest p95 of a second for it to count as good', default: '500' },
    { name: 'slo-error-rate', type: 'string', value: '<0..1>', help: 'highest error rate of a second for it to count as good', default: '0.01' },
    { name: 'max-failover', type: 'string', value: '<duration>', help: 'failover done (SLO held --hold s) within this of the inject', default: '5s' },
    { name: 'max-recovery', type: 'string', value: '<duration>', help: 'the healed node ready and the SLO held within this of the heal', default: '15s' },
    { name: 'max-ready-flip', type: 'string', value: '<duration>', help: "db-cut: the node's /health/ready not-ready within this of the inject", default: '5s' },
    { name: 'max-reconnect-p95-ms', type: 'string', value: '<ms>', help: 'faults on chat-N: WS reconnect time p95', default: '5000' },
    { name: 'max-ready-but-failing', type: 'string', value: '<duration>', help: 'after heal: how long a dbman node may answer ready while its serving probe fails', default: '1s' },
    { name: 'max-relapses', type: 'string', value: '<n>', help: 'fault phase: relapses (the SLO held, then broke again) longer than --max-relapse allowed per fault', default: '0' },
    { name: 'max-relapse', type: 'string', value: '<duration>', help: 'a relapse up to this long is not counted by --max-relapses', default: '2s' },
    { name: 'max-promotion', type: 'string', value: '<duration>', help: 'a fault on the Sentinel primary: a new primary named by a majority of the sentinels within this', default: '30s' },
    HELP_FLAG,
  ],
  environment: [
    'TARGET_FLAWS  flaws of the reference target the drill starts (a,b)',
    'SCALE, USER_POOL, SLO  the k6 environment (lib/README.md); DURATION is set by the drill (--duration)',
    'INTEGRITY_SETTLE_MS, INTEGRITY_*_LIMIT, INTEGRITY_*_TARGET  the integrity check (integrity/README.md)',
    'CHAOS_LEDGER  the ledger when --ledger is not given',
  ],
  exitCodes: [[0, 'pass'], [1, 'a threshold, the steady state or a fault action failed'], [2, 'bad usage (nothing started or sent)'], [130, 'interrupted by SIGINT (faults healed, k6 summary and report kept)'], [143, 'interrupted by SIGTERM']],
  examples: [
    'npm run drill -- --fault pause --node dbman-2 --at 20s --for 20s',
    'npm run drill -- --file chaos/drills/dbman-sequence.yaml',
    'npm run drill -- --fault db-cut --node dbman-1 --dbman-lb',
    'npm run drill -- --fault kill --node dbman-1 --target staging.json --allow-remote',
  ],
};

async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(DRILL_COMMAND, argv);
  if (values.help) {
    process.stdout.write(helpText(DRILL_COMMAND) + '\n');
    return 0;
  }
  const s = (k: string) => values[k] as string | undefined;
  if (values.docker && values['allow-remote']) throw new UsageError('--allow-remote', '--allow-remote: only with --target <file>, not with --docker (the docker stack runs on this machine)');
  if (values.docker && s('target')) throw new UsageError('--docker', '--docker and --target: choose one (--docker starts its own docker stack)');
  if (values.docker) {
    const why = dockerHostRefusal();
    if (why) throw new UsageError('DOCKER_HOST', why);
  }
  const spec = specFromFlags({
    fault: s('fault'),
    node: s('node'),
    at: s('at'),
    for: s('for'),
    duration: s('duration'),
    profile: s('profile'),
    file: s('file'),
    proxy: values.proxy as boolean | undefined,
    lb: values.lb as boolean | undefined,
    dbmanLb: values['dbman-lb'] as boolean | undefined,
    redisSentinel: values['redis-sentinel'] as boolean | undefined,
    maxPromotion: s('max-promotion'),
    latencyMs: s('latency-ms'),
    jitterMs: s('jitter-ms'),
    rateKbps: s('rate-kbps'),
    hold: s('hold'),
    sloP95Ms: s('slo-p95-ms'),
    sloErrorRate: s('slo-error-rate'),
    maxFailover: s('max-failover'),
    maxRecovery: s('max-recovery'),
    maxReadyFlip: s('max-ready-flip'),
    maxReconnectP95Ms: s('max-reconnect-p95-ms'),
    maxReadyButFailing: s('max-ready-but-failing'),
    maxRelapses: s('max-relapses'),
    maxRelapse: s('max-relapse'),
  });
  const allowRemote = values['allow-remote'] === true;
  // everything, before anything starts, creates or contacts anything
  const drill = { spec, targetPath: s('target'), ledgerPath: s('ledger'), allowRemote, drillFile: s('file') };
  allowRemoteConnections(allowRemote && s('target') !== undefined);
  // runDrill validates everything before it starts, creates or contacts anything (chaos/drill/edge.ts)
  if (!values.docker) return runDrill(drill);
  // the docker stack starts before runDrill: everything is validated before it
  validateDrillInput({ ...drill, docker: true });
  return drillOnDockerStack(spec, s('ledger'));
}

/** Starts the docker stack, runs the drill against it, removes it (also when the drill exits by itself on a signal). */
async function drillOnDockerStack(spec: Parameters<typeof runDrill>[0]['spec'], ledgerPath: string | undefined): Promise<number> {
  let flaws: string[];
  try {
    flaws = parseFlaws(process.env['TARGET_FLAWS']);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const targetPath = runStateFile('drill-docker', 'target.json');
  const log = (l: string) => process.stdout.write(`drill: [docker stack] ${l}\n`);
  // runDrill exits the process itself after SIGINT/SIGTERM: take the stack down synchronously then
  const downSync = () => {
    if (existsSync(targetPath)) spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'reference-target/launcher/cli.ts'), 'down', '--target-file', targetPath], { stdio: 'ignore', cwd: REPO_ROOT });
  };
  process.on('exit', downSync);
  try {
    await startDockerStack({ flaws, targetFilePath: targetPath, log, proxy: spec.proxy || needsProxy(spec), chatLb: spec.chatLb || needsChatLb(spec), dbmanLb: spec.dbmanLb });
    // the docker stack above already has the proxies and balancers the spec asked for
    return await runDrill({ spec: { ...spec, proxy: false, chatLb: false, dbmanLb: false }, targetPath, ledgerPath });
  } finally {
    if (existsSync(targetPath)) await stopStack(targetPath);
    log('removed (containers, network, postgres, redis, orghub, haproxy, toxiproxy-server)');
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => exitOnError(err, 'drill'),
);
