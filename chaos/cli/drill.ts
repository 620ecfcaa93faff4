/**
 * `npm run drill -- --fault <kind> --node <name> [--at 20s] [--for 20s] [--profile failover] [--target <file>]`
 * `npm run drill -- --file drills/kill-then-pause.yaml [--target <file>]`
 * See chaos/README.md. Exit 0 pass, 1 fail (threshold, steady state, inject/heal), 2 bad usage (nothing sent).
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
import { exitOnError, parseFlags, UsageError } from './args.js';

export const DRILL_USAGE = `usage: npm run drill -- --fault <${FAULT_KINDS.join('|')}> --node <name> [--at 20s] [--for <sized>]
                       [--profile failover] [--duration 45s] [--target <file> | --docker] [--proxy] [--lb] [--dbman-lb]
                       [--redis-sentinel] [--max-promotion 30s]
                       [--latency-ms 1000 --jitter-ms 200 | --rate-kbps 16] [--hold 3] [--slo-p95-ms 500] [--slo-error-rate 0.01]
                       [--max-failover 5s] [--max-recovery 15s] [--max-ready-flip 5s] [--max-reconnect-p95-ms 5000]
                       [--max-ready-but-failing 1s] [--max-relapses 0] [--max-relapse 2s]
       npm run drill -- --file <drill.yaml|drill.json> [--target <file> [--allow-remote]] [--ledger <file>]

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
session-kill.yaml, bad-request-storm.yaml, redis-slow.yaml, slow-consumers.yaml (slowConsumers: a share of the hot room's subscribers throttled; the healthy
ones judged on their own), data-tier.yaml (restart Redis, then PostgreSQL), sentinel.yaml (kill the Sentinel
primary; redisSentinel: true).
--docker starts the reference target as containers (npm run stack -- up --docker) and drives the faults with the
docker driver (stop, kill, pause, restart, partition by network disconnect); the stack is removed after.
A target file whose URLs are outside loopback (127.0.0.0/8, localhost, ::1), e.g. staging, needs --allow-remote.
With --target, a node another running drill faults (or left faulted: npm run chaos -- heal) is refused (exit 2).
The message integrity check runs after the heal; its settings (INTEGRITY_SETTLE_MS, INTEGRITY_*_LIMIT,
INTEGRITY_*_TARGET) are in integrity/README.md.
Exit codes: 0 pass, 1 a threshold, the steady state or a fault action failed, 2 bad usage (nothing sent).`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    fault: { type: 'string' },
    node: { type: 'string' },
    at: { type: 'string' },
    for: { type: 'string' },
    duration: { type: 'string' },
    profile: { type: 'string' },
    target: { type: 'string' },
    file: { type: 'string' },
    ledger: { type: 'string' },
    'allow-remote': { type: 'boolean' },
    proxy: { type: 'boolean' },
    lb: { type: 'boolean' },
    'dbman-lb': { type: 'boolean' },
    'redis-sentinel': { type: 'boolean' },
    'max-promotion': { type: 'string' },
    docker: { type: 'boolean' },
    'latency-ms': { type: 'string' },
    'jitter-ms': { type: 'string' },
    'rate-kbps': { type: 'string' },
    hold: { type: 'string' },
    'slo-p95-ms': { type: 'string' },
    'slo-error-rate': { type: 'string' },
    'max-failover': { type: 'string' },
    'max-recovery': { type: 'string' },
    'max-ready-flip': { type: 'string' },
    'max-reconnect-p95-ms': { type: 'string' },
    'max-ready-but-failing': { type: 'string' },
    'max-relapses': { type: 'string' },
    'max-relapse': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(DRILL_USAGE + '\n');
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`unexpected argument ${positionals[0]} (see --help)`);
  }
  const s = (k: string) => values[k] as string | undefined;
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
  if (!values.docker) return runDrill({ spec, targetPath: s('target'), ledgerPath: s('ledger'), allowRemote });
  if (allowRemote) throw new UsageError('--allow-remote: only with --target <file>, not with --docker (the docker stack runs on this machine)');
  if (s('target')) throw new UsageError('--docker and --target: choose one (--docker starts its own docker stack)');
  if (spec.redisSentinel) throw new UsageError('--redis-sentinel: not with --docker (allowed: the local reference target, whose sentinels name loopback addresses)');
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
