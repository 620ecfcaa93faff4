/**
 * The `--redis-sentinel` topology: beside the stack's Redis (the primary), a replica and three sentinels from
 * Debian's packages (redis-server, redis-sentinel; installed by infra.ts when missing and root), on loopback. The
 * sentinels watch the primary with a short `down-after-milliseconds` and `failover-timeout`, so a killed or
 * frozen primary is replaced in a few seconds (a drill measures how long); the chat instances connect through
 * the sentinels (REDIS_SENTINELS) and follow a promotion. Returns once the replica is in sync and every sentinel
 * knows the replica and the other two (`SENTINEL CKQUORUM`): a failover can be authorised from the first second.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { findRedisSentinel, InfraError, startRedis, type StartedInfra } from './infra.js';
import { spawnDetached, type ProcRecord } from './procs.js';

export const SENTINEL_MASTER_NAME = 'mymaster';
/** How long the primary must not answer before a sentinel calls it down (ms). */
export const SENTINEL_DOWN_AFTER_MS = 1000;
/** Sentinel's failover-timeout (ms): also how soon a failed failover is tried again. */
export const SENTINEL_FAILOVER_TIMEOUT_MS = 5000;
export const SENTINEL_COUNT = 3;
const QUORUM = 2;

export interface StartedSentinels {
  masterName: string;
  replica: StartedInfra & { name: string };
  sentinels: Array<StartedInfra & { name: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sentinel's config file: sentinel rewrites it (what it learnt), so it lives in the stack's folder. */
export function sentinelConfig(o: { port: number; dir: string; primaryPort: number }): string {
  return [
    `port ${o.port}`,
    'bind 127.0.0.1',
    'protected-mode no',
    `dir ${o.dir}`,
    'set-proc-title no',
    `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${o.primaryPort} ${QUORUM}`,
    `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${SENTINEL_DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
    `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
    '',
  ].join('\n');
}

/** Polls `check` every 200 ms until it returns true or `ms` pass; then throws `what` as an InfraError. */
async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new InfraError(`${what} after ${ms} ms${last}`);
    await sleep(200);
  }
}

async function withClient<T>(url: string, f: (r: Redis) => Promise<T>): Promise<T> {
  const { Redis } = await import('ioredis'); // loaded with the Sentinel topology, not by every CLI
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await f(r);
  } finally {
    r.disconnect();
  }
}

/** Starts the replica of the primary on `primaryPort` and three sentinels; every process is in `procs` before a failure is thrown. */
export async function startSentinels(
  stateDir: string,
  primaryPort: number,
  ports: { replica: number; sentinels: number[] },
  log: (l: string) => void,
  mark: (component: string) => Record<string, string>,
  procs: ProcRecord[],
): Promise<StartedSentinels> {
  const bin = findRedisSentinel(log);
  const replicaName = 'redis-replica-1';
  const replica = await startRedis(stateDir, ports.replica, log, mark(replicaName), undefined, { name: replicaName, args: ['--replicaof', '127.0.0.1', String(primaryPort)] });
  procs.push(replica.proc);
  await waitFor(`${replicaName} not in sync with the primary`, 20_000, () => withClient(replica.url, async (r) => /master_link_status:up/.test(await r.info('replication'))));

  const sentinels: StartedSentinels['sentinels'] = [];
  for (const [i, port] of ports.sentinels.entries()) {
    const name = `sentinel-${i + 1}`;
    const dir = join(stateDir, name);
    mkdirSync(dir);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, sentinelConfig({ port, dir, primaryPort }));
    const proc = spawnDetached(name, bin, [conf], { env: { ...process.env, ...mark(name) }, logFile: join(stateDir, 'logs', `${name}.log`) });
    procs.push(proc);
    sentinels.push({ name, url: `redis://127.0.0.1:${port}`, port, proc });
  }
  // sentinels find the replica and each other through the primary (hello messages every 2 s)
  for (const s of sentinels) {
    await waitFor(`${s.name} does not see a failover quorum`, 30_000, () =>
      withClient(s.url, async (r) => {
        const ok = String(await r.call('SENTINEL', 'CKQUORUM', SENTINEL_MASTER_NAME)).startsWith(`OK ${SENTINEL_COUNT} usable`);
        const replicas = (await r.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as unknown[];
        return ok && replicas.length >= 1;
      }),
    );
  }
  log(`redis sentinel: replica ${replica.url}, sentinels ${sentinels.map((s) => s.url).join(', ')} (master "${SENTINEL_MASTER_NAME}", down after ${SENTINEL_DOWN_AFTER_MS} ms)`);
  return { masterName: SENTINEL_MASTER_NAME, replica: { ...replica, name: replicaName }, sentinels };
}
