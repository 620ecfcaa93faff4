// Redis Sentinel failover. Pure checker (< 1 s): the promotion time from the sentinels' answers (a majority
// naming another primary), no promotion and no samples failing, the fan-out gap per room. Then ONE reference
// stack with `--redis-sentinel` (real redis-server primary and replica, three real redis-sentinel, real k6;
// ~25 s to start, shared by the cases): the target file and `stack status` describe the topology, and the drill
// file chaos/drills/sentinel.yaml run against it (--target, ~35 s) kills the primary: the promotion is measured,
// fan-out resumes in every room, 0 lost, the fault healed; a Sentinel drill on a target file without
// redisSentinel, or with --docker, is refused (exit 2, nothing started).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../chaos/ledger.js';
import { judgePromotion, promotionFigures, type SentinelSample } from '../../chaos/sentinel.js';
import type { StoreAck } from '../../chaos/data-tier.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { REPO, runDrillCli, tempDir } from './helpers.js';

const T = 1_000_000;
const OLD = '127.0.0.1:7000';
const NEW = '127.0.0.1:7001';
const poll = (at: number, ...primaries: Array<string | null>): SentinelSample[] => primaries.map((primary, i) => ({ at, sentinel: `sentinel-${i + 1}`, primary }));
const ws = (room: string, at: number): StoreAck => ({ room, at, transport: 'ws' });

describe('promotion figures', () => {
  const acks = [ws('a', T - 900), ws('a', T - 100), ws('a', T + 3000), ws('a', T + 3500), ws('b', T - 500), ws('b', T + 4000)];
  const w = { masterName: 'mymaster', sentinels: 3, injectAt: T, endAt: T + 20_000 };

  it('the first poll where a majority names another primary; the fan-out gap per room', () => {
    // one sentinel switching first is not a promotion yet
    const samples = [...poll(T - 100, OLD, OLD, OLD), ...poll(T + 1000, OLD, null, OLD), ...poll(T + 2000, NEW, OLD, OLD), ...poll(T + 2500, NEW, NEW, OLD)];
    const p = promotionFigures(samples, w, acks);
    expect(p).toMatchObject({ before: OLD, after: NEW, promotionS: 2.5, polls: 3, fanoutGapS: { a: 3.1, b: 4.5 }, fanoutGapMaxS: 4.5 });
    expect(p.resume.neverResumed).toEqual([]);
    expect(judgePromotion('kill', 'redis', p, 15, 20)).toEqual([]);
    expect(judgePromotion('kill', 'redis', p, 2, 20)).toEqual(['sentinel_promotion{phase:fault,fault:kill,node:redis}: <=2s (observed 2.5s)']);
  });

  it('no promotion, no samples and a room that never resumes fail', () => {
    const never = promotionFigures([...poll(T - 100, OLD, OLD, OLD), ...poll(T + 1000, OLD, OLD, null)], w, acks);
    expect(never.promotionS).toBeNull();
    expect(judgePromotion('pause', 'redis', never, 15, 20)[0]).toMatch(/observed never: 1 polls of 3 sentinels after the fault, no majority named another primary than 127\.0\.0\.1:7000/);
    expect(judgePromotion('kill', 'redis', promotionFigures(poll(T - 100, OLD, OLD, OLD), w, acks), 15, 20)[0]).toMatch(/observed no samples/);
    const quiet = promotionFigures([...poll(T - 100, OLD, OLD, OLD), ...poll(T + 2000, NEW, NEW, NEW)], w, acks.filter((a) => a.room !== 'b' || a.at < T));
    expect(quiet.fanoutGapS.b).toBeNull();
    expect(judgePromotion('kill', 'redis', quiet, 15, 20)).toEqual([expect.stringMatching(/^fanout_resume\{phase:recovery,fault:kill,node:redis\}: every room resumed \(observed 1 of 2 rooms never/)]);
  });
});

const dir = tempDir('chaos-sentinel-');
const ledgerPath = join(dir, 'ledger.jsonl');
const targetFilePath = join(dir, 'target.json');
let stack: RunningStack | undefined;

beforeAll(async () => {
  stack = await startStack({ targetFilePath, flaws: [], redisSentinel: true });
}, 120_000);
afterAll(async () => {
  if (stack) await stopStack(targetFilePath);
}, 60_000);

const drill = (args: string[]) => runDrillCli(ledgerPath, args);

describe('Redis Sentinel on the reference target', () => {
  it('stack up --redis-sentinel: the target file and stack status name the primary, the replica and three sentinels', () => {
    const t = stack!.target;
    expect(t.name).toMatch(/redis sentinel/);
    expect(t.redisSentinel!.masterName).toBe('mymaster');
    expect(t.redisSentinel!.replicas.map((c) => c.name)).toEqual(['redis-replica-1']);
    expect(t.redisSentinel!.sentinels.map((c) => c.name)).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
    const status = spawnSync(process.execPath, ['--import', 'tsx', 'reference-target/launcher/cli.ts', 'status', '--target-file', targetFilePath], { cwd: REPO, encoding: 'utf8' });
    expect(status.status, status.stdout + status.stderr).toBe(0);
    for (const n of ['redis ', 'redis-replica-1', 'sentinel-1', 'sentinel-2', 'sentinel-3']) expect(status.stdout).toMatch(new RegExp(`^${n}.*healthy`, 'm'));
  });

  it('kill the primary: a new primary promoted and timed, fan-out back in every room, 0 lost, healed', async () => {
    const r = await drill(['--file', join(REPO, 'chaos', 'drills', 'sentinel.yaml'), '--target', targetFilePath]);
    const f = r.report?.faults[0];
    expect(f?.sentinel, r.stdout + r.stderr.slice(-3000)).toBeDefined();
    const s = f!.sentinel!;
    expect(s.before).toBe(new URL(stack!.target.redis!.url).host);
    expect(s.after).toBe(new URL(stack!.target.redisSentinel!.replicas[0]!.url).host);
    expect(s.promotionS!).toBeGreaterThan(0);
    expect(s.promotionS!).toBeLessThanOrEqual(15);
    expect(s.polls).toBeGreaterThan(20);
    expect(s.resume.roomsActiveBefore).toBeGreaterThanOrEqual(4);
    expect(s.resume.neverResumed).toEqual([]);
    expect(s.undelivered).toBeTypeOf('number');
    // messages sent while no primary takes them are refused, late or undelivered (Redis pub/sub keeps nothing):
    // that is the drill's finding; its own checks and the integrity of what was stored must hold
    expect(r.report!.breached.filter((b) => /^(sentinel_promotion|fanout_resume|integrity_(lost|duplicates|idempotency))/.test(b))).toEqual([]);
    expect(r.stdout).toMatch(/lost +0 /);
    expect(r.stdout).toMatch(/kill redis \(Sentinel "mymaster"\): promoted 127\.0\.0\.1:\d+ in [\d.]+ s.*; \d+ undelivered in the run/);
    const mine = new Ledger(ledgerPath).faults().filter((x) => x.inject.runId === r.report!.runId);
    expect(mine.length === 1 && !!mine[0]!.healed).toBe(true);
    process.stdout.write(`[sentinel] promotion ${s.promotionS} s (${s.polls} polls of ${s.sentinels} sentinels), fan-out gap max ${s.fanoutGapMaxS} s, undelivered ${s.undelivered}\n`);
  }, 150_000);

  it('a Sentinel drill against a target file without redisSentinel, or on the docker stack, is refused, nothing started', async () => {
    const plain = JSON.parse(readFileSync(targetFilePath, 'utf8')) as Record<string, unknown>;
    delete plain['redisSentinel'];
    delete plain['reference'];
    const path = join(dir, 'plain.json');
    writeFileSync(path, JSON.stringify(plain));
    const r = await drill(['--file', join(REPO, 'chaos', 'drills', 'sentinel.yaml'), '--target', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/redisSentinel: .* has no redisSentinel \(allowed: a target file with redisSentinel/);
    expect(r.report).toBeUndefined();
    const docker = await drill(['--docker', '--file', join(REPO, 'chaos', 'drills', 'sentinel.yaml')]);
    expect(docker.code).toBe(2);
    expect(docker.stderr).toMatch(/--redis-sentinel: not with --docker/);
  }, 30_000);
});
