// Drills that judge a deployment by what it serves, against real reference stacks and real k6, one at a time:
// - ready-not-serving: the resumed node, ready but failing for 4 s, breaches ready_but_failing_time; the per-service
//   view covers chat and orghub; the given target file stays byte-identical (a service taken down by bad requests:
//   drill-storm.test.ts);
// - a kill of a node of a given target: it is started again, the target file stays byte-identical, the new pid is
//   in the suite's own pid state;
// - slow-failover (with its forced timeout 3 s and cooldown 4 s: the smallest settings whose relapses still last
//   longer than the 2 s allowed) pause without --for: the fault is sized from the target file's dbmanClient,
//   relapses are counted and the drill fails on them.
// ~2.5 min.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../chaos/drill/run.js';
import type { Relapse } from '../../chaos/relapses.js';
import { PidState, pidStatePathFor } from '../../chaos/pid-state.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { runDrillCli, tempDir, widePhaseLatency } from './helpers.js';

const dir = tempDir('chaos-drill-serving-');
const ledgerPath = join(dir, 'ledger.jsonl');
const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await stopStack(s).catch(() => undefined);
});

const drill = (args: string[], env: Record<string, string> = {}, onErr?: (all: string) => void) => runDrillCli(ledgerPath, args, env, onErr);

async function stack(name: string, flaws: string[], serviceEnv: Record<string, string> = {}): Promise<RunningStack> {
  const targetFilePath = join(dir, `${name}.json`);
  stacks.push(targetFilePath);
  return startStack({ targetFilePath, flaws, serviceEnv });
}

type Fault = DrillReport['faults'][number] & { readyButFailing?: { start: string; seconds: number }[]; readyButFailingAfterHealS?: number; servingAfterHealS?: number | null; relapses?: Relapse[]; services?: Record<string, { relapses?: Relapse[] }> };

describe('drills judged by serving', () => {
  it('ready-not-serving: catches the node ready but failing; per-service figures for every service', async () => {
    const s = await stack('rns', ['ready-not-serving'], { TARGET_FLAW_NOT_SERVING_MS: '4000' });
    const before = readFileSync(s.targetFilePath);
    const r = await drill(['--target', s.targetFilePath, '--fault', 'pause', '--node', 'dbman-2', '--at', '4s', '--for', '6s', '--duration', '20s']);
    if (!r.report) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(1);
    const rep = r.report!;
    // the per-service view is there for every service the load drove (outages: drill-storm.test.ts)
    const byPhase = (rep.services as { byPhase: Record<string, unknown> }).byPhase;
    expect(Object.keys(byPhase)).toEqual(expect.arrayContaining(['chat', 'orghub']));
    // the resumed node: ready at once, failing its serving probe for ~4 s
    const f = rep.faults[0] as Fault;
    expect(f.readyButFailingAfterHealS).toBeGreaterThanOrEqual(3);
    expect(f.servingAfterHealS).toBeGreaterThanOrEqual(3);
    expect(f.nodeReadyAfterHealS).toBeLessThan(1.5);
    expect(rep.breached.join('\n')).toMatch(/ready_but_failing_time\{phase:recovery,fault:pause,node:dbman-2\}: <=1s \(observed [\d.]+s/);
    expect(r.stdout).toMatch(/^ {4}serving: ready AND serving [\d.]+s after heal; ready but failing [\d.]+s from /m);
    // recovery runs to ready AND serving, not to ready
    expect(f.recoveryS!).toBeGreaterThanOrEqual(f.servingAfterHealS!);
    expect(readFileSync(s.targetFilePath).equals(before)).toBe(true);
  }, 240_000);

  it('a kill on a given target: the node runs again, the target file is byte-identical, the new pid is in the pid state', async () => {
    const s = await stack('kill', []);
    const before = readFileSync(s.targetFilePath);
    const oldPid = s.target.dbmanNodes[2]!.faults.pid!;
    // latency limits widened: this drill judges the target file and the pid state, not the latency SLO (which a
    // loaded 2-core machine can breach on its own)
    const r = await drill(['--target', s.targetFilePath, '--fault', 'kill', '--node', 'dbman-3', '--at', '3s', '--for', '4s', '--duration', '12s'], { SLO: JSON.stringify({ phases: widePhaseLatency(2500) }) });
    if (r.code !== 0) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(0);
    expect(readFileSync(s.targetFilePath).equals(before)).toBe(true);
    const pids = new PidState(pidStatePathFor(ledgerPath)).live(s.targetFilePath);
    expect(pids['dbman-3']).toBeGreaterThan(0);
    expect(pids['dbman-3']).not.toBe(oldPid);
    const f = r.report!.faults[0] as Fault;
    expect(f.readyButFailingAfterHealS).toBeLessThanOrEqual(1);
  }, 180_000);

  it('slow-failover pause without --for: sized from dbmanClient, relapses counted, the drill fails on them', { timeout: 240_000 }, async () => {
    const env = { TARGET_FLAWS: 'slow-failover', TARGET_FLAW_SLOW_TIMEOUT_MS: '3000', TARGET_FLAW_SLOW_COOLDOWN_MS: '4000' };
    const r = await drill(['--fault', 'pause', '--node', 'dbman-1', '--at', '5s'], env);
    if (!r.report) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(1);
    // cycle 2 × 3 + 4 = 10 s; 3 + 2 × 10 + hold 3 + 2 = 28 s of fault
    expect(r.stderr).toMatch(/pause dbman-1 lasts 28s \(sized from the target file's dbmanClient: timeout 3000 ms, threshold 3, cooldown 4000 ms/);
    const f = r.report!.faults[0] as Fault;
    expect(f.plannedForS).toBe(28);
    // chat's own series (its requests alone: session's and tenanthub's fast ones can hide its stall in the mixed one)
    const chat = f.services!['chat']!;
    const long = chat.relapses!.filter((x) => x.seconds > 2);
    expect(long.length, JSON.stringify({ all: f.relapses, chat: chat.relapses })).toBeGreaterThanOrEqual(1);
    expect(r.report!.breached.join('\n')).toMatch(/relapses\{phase:fault,fault:pause,node:dbman-1,service:chat\}: <=0 longer than 2s \(observed \d+: /);
    expect(r.stdout).toMatch(/^ {4}relapses: (none|\d+s at \+\d+s)/m);
    expect(r.stdout).toMatch(/^ {6}chat: .*, relapses \d+s at \+\d+s/m);
  });
});
