// Redis and PostgreSQL as fault targets. Pure checkers (< 1 s): fan-out resume per room, PostgreSQL recovery
// (ready AND serving, first store) and their judgements, including "no samples". Then two drills on the real
// reference target with real Redis, PostgreSQL and k6 (~40 s each): a restart of Redis and then of PostgreSQL by
// the process driver holds every check but the fan-out of messages published during the Redis gap (fan-out back
// in every room, every node ready and serving, 0 lost); the
// no-resubscribe flaw (a chat that never subscribes again after a Redis error) fails fanout_resume.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judgePgRecovery, judgeResume, pgRecoveryFigures, resumeFigures, type StoreAck } from '../../chaos/data-tier.js';
import { Ledger } from '../../chaos/ledger.js';
import { REPO, runDrillCli, stacksAtOnce, tempDir, widePhaseLatency } from './helpers.js';

const T = 1_000_000;
const ack = (room: string, at: number, transport = 'ws'): StoreAck => ({ room, at, transport });

describe('fan-out resume after Redis', () => {
  const acks = [ack('a', T - 5000), ack('b', T - 3000), ack('c', T - 60_000), ack('r', T - 1000, 'rest'), ack('a', T + 9000), ack('b', T + 12_500), ack('c', T + 9000)];

  it('judges every room with WS traffic before the fault, from Redis back to its first WS ack', () => {
    const r = resumeFigures(acks, { injectAt: T, backAt: T + 8000 });
    // c was quiet in the lookback and r only had REST stores (no fan-out proof): not judged
    expect(r.roomsActiveBefore).toBe(2);
    expect(r.rooms).toEqual({ a: 1, b: 4.5 });
    expect(r.resumeMaxS).toBe(4.5);
    expect(judgeResume('stop', 'redis', r, 20)).toEqual([]);
    expect(judgeResume('stop', 'redis', r, 3)).toEqual(['fanout_resume{phase:recovery,fault:stop,node:redis}: <=3s (observed 4.5s in the slowest room)']);
  });

  it('a room that never resumes fails; no room judged fails as no samples', () => {
    const r = resumeFigures(acks.filter((a) => a.room !== 'b' || a.at < T), { injectAt: T, backAt: T + 8000 });
    expect(r.neverResumed).toEqual(['b']);
    expect(r.resumeMaxS).toBeNull();
    expect(judgeResume('restart', 'redis', r, 20)[0]).toMatch(/observed 1 of 2 rooms never got a fan-out delivery after Redis was back: b/);
    expect(judgeResume('restart', 'redis', resumeFigures([], { injectAt: T, backAt: T }), 20)[0]).toMatch(/observed no samples/);
  });
});

describe('PostgreSQL recovery', () => {
  const tl = (...pts: Array<[number, boolean]>) => pts.map(([t, ok]) => ({ t: new Date(t).toISOString(), ok }));
  const back = T + 10_000;

  it('the longest of every node ready, every node serving and the first store', () => {
    const r = pgRecoveryFigures(back, { 'dbman-1': { ready: tl([T, true], [T + 1000, false], [back + 500, true]), serving: tl([T, true], [T + 1000, false], [back + 2000, true]) } }, [ack('x', back + 300, 'rest')]);
    expect(r).toMatchObject({ nodes: { 'dbman-1': { readyS: 0.5, servingS: 2 } }, firstStoreS: 0.3, recoveryS: 2 });
    expect(judgePgRecovery('kill', 'postgres', r, 300)).toEqual([]);
    expect(judgePgRecovery('kill', 'postgres', r, 1)).toEqual(['pg_recovery_time{phase:recovery,fault:kill,node:postgres}: <=1s (observed 2s)']);
  });

  it('ready is not serving: a node that never serves again fails, naming it', () => {
    const r = pgRecoveryFigures(back, { 'dbman-2': { ready: tl([T, true], [T + 1000, false], [back + 500, true]), serving: tl([T, true], [T + 1000, false]) } }, [ack('x', back + 300)]);
    expect(r.recoveryS).toBeNull();
    expect(judgePgRecovery('stop', 'postgres', r, 300)[0]).toMatch(/observed never: dbman-2 ready but never serving/);
    expect(judgePgRecovery('stop', 'postgres', pgRecoveryFigures(back, {}, []), 300)[0]).toMatch(/no samples/);
  });
});

const dir = tempDir('chaos-data-tier-');
const ledgerPath = join(dir, 'ledger.jsonl');
const FILE = join(REPO, 'chaos', 'drills', 'data-tier.yaml');

const drill = (args: string[], env: Record<string, string> = {}) => runDrillCli(ledgerPath, args, env);

describe('Redis and PostgreSQL restarts on the reference target', () => {
  // both stacks start at once, before the first drill; the flawed one is stopped after its drill, so the healthy
  // drill runs with no other stack up
  const stacks = stacksAtOnce(dir, [['no-resubscribe'], []]);
  afterAll(() => stacks.stopAll(), 60_000);

  it('no-resubscribe: after the Redis restart no room gets fan-out again; fanout_resume fails', async () => {
    const r = await drill(['--fault', 'restart', '--node', 'redis', '--at', '6s', '--for', '4s', '--duration', '16s', '--target', (await stacks.ready)[0]!.targetFilePath]);
    await stacks.stop(0);
    expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(1);
    const f = r.report!.faults[0]!;
    expect(f.resume!.roomsActiveBefore).toBeGreaterThanOrEqual(4);
    expect(f.resume!.neverResumed).toHaveLength(f.resume!.roomsActiveBefore);
    expect(r.report!.breached.join('\n')).toMatch(/fanout_resume\{phase:recovery,fault:restart,node:redis\}: every room resumed \(observed \d+ of \d+ rooms never/);
    // no echo comes back, yet the run ends near its 16 s: a hot-room publisher starts nothing after its schedule
    // and waits one ack timeout (10 s) for the message in flight, not its retries too (47 s before)
    const k6S = Number(/k6 exited with \d+ after ([\d.]+) s/.exec(r.stderr)?.[1]);
    expect(k6S, r.stderr.slice(-2000)).toBeLessThan(34);
  }, 150_000);

  it('healthy: fan-out resumes in every room, every dbman node is ready and serving again, 0 lost', async () => {
    // latency limits widened (a CI run on a loaded machine saw store p95 507 ms in the baseline, 594 ms in the
    // recovery): this drill judges fan-out resume, PostgreSQL recovery and integrity, not the latency SLO
    const r = await drill(['--file', FILE, '--target', (await stacks.ready)[1]!.targetFilePath], { SLO: JSON.stringify({ phases: widePhaseLatency(2500) }) });
    // Redis pub/sub keeps nothing for a subscriber that is not subscribed: a message published while a chat
    // instance was still resubscribing after the restart reaches nobody there. The integrity check counts those
    // (undelivered, 0-20 in our runs); that is the finding it exists for, not a failure of the resume check.
    // A restart of the one PostgreSQL is an outage of every store for as long as it takes (0.3-1 s here): the
    // fault phase's error rate and store success (windows of 4 s each) are around their limits on a loaded
    // machine (5.3 % in one run); what this drill judges is the recovery after it, and the recovery phase's
    // SLO is not excused.
    const other = r.report!.breached.filter((b) => !/^(ws_fanout_delivery|integrity_undelivered)[:{]|^(http_req_failed|message_store_success)\{phase:fault\}/.test(b));
    expect(other, r.stdout + r.stderr.slice(-3000)).toEqual([]);
    expect([0, 1]).toContain(r.code);
    const [redis, pg] = r.report!.faults;
    expect([redis!.driver, pg!.driver]).toEqual(['process', 'process']);
    expect(redis!.resume!.roomsActiveBefore).toBeGreaterThanOrEqual(4);
    expect(redis!.resume!.neverResumed).toEqual([]);
    expect(redis!.resume!.resumeMaxS!).toBeLessThanOrEqual(20);
    expect(Object.keys(pg!.pgRecovery!.nodes)).toEqual(['dbman-1', 'dbman-2', 'dbman-3']);
    expect(pg!.pgRecovery!.recoveryS!).toBeLessThanOrEqual(300);
    // the integrity check ran and counted what the Redis gap left undelivered (0-20); nothing stored was lost or doubled
    expect(r.stdout).toMatch(/^integrity: (PASS|FAIL) \(\d+ messages/m);
    expect(r.stdout).toMatch(/^ +undelivered +\d+ /m);
    expect(r.stdout).toMatch(/lost +0/);
    expect(r.stdout).toMatch(/duplicates +0/);
    expect(r.stdout).toMatch(/restart redis: fan-out resumed in (\d+) of \1 rooms/);
    const mine = new Ledger(ledgerPath).faults().filter((f) => f.inject.runId === r.report!.runId);
    expect(mine.every((f) => f.healed)).toBe(true);
  }, 150_000);
});
