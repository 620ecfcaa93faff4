/**
 * Runs side by side in one checkout (issue 19): a smoke (its own reference target) and a drill (pause of dbman-1
 * on a shared target) running at the same time both pass, each with its own intact run dir; while the drill
 * runs, a second drill on dbman-1 is refused with exit 2 and one line, before anything starts, both before the
 * first drill's fault is injected (its node claim) and while it is (the ledger), and `chaos status` lists the
 * running drill. A drill on another node of the same target would go ahead (tests/chaos/busy.test.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../chaos/ledger.js';
import { readRunSummary } from '../../runner/summary.js';
import { reportsDir } from '../../runner/paths.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { REPO, tempDir, widePhaseLatency } from './helpers.js';

const dir = tempDir('side-by-side-');
const ledgerPath = join(dir, 'ledger.jsonl');
const CONTENDED_LATENCY_SLO = JSON.stringify({
  whole: { storeP95Ms: 3000, storeP99Ms: 5000, listP95Ms: 3000, httpP95Ms: 3000, httpP99Ms: 5000, wsDeliveryP95Ms: 3000, fanoutP95Ms: 3000 },
  phases: widePhaseLatency(3000),
});
let stack: RunningStack | undefined;
beforeAll(async () => {
  // A healthy client for the drill's load sets a frozen node aside at its first timeout and keeps it aside for the
  // whole fault: with the stack's threshold 3 the msa services' sparse requests take ~6 s to trip, and with its 3 s
  // cooldown the contract's repeating stall comes back every ~5 s, breaches the drill exists to report.
  stack = await startStack({ targetFilePath: join(dir, 'target.json'), flaws: [], serviceEnv: { DBMAN_FAIL_THRESHOLD: '1', DBMAN_COOLDOWN_MS: '30000' } });
}, 120_000);
/** Every run started; one still going when the test ends (it failed early) is interrupted (SIGINT tears down a smoke's own stack). */
const started: { child: ChildProcess; code: Promise<number | null> }[] = [];
afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  await Promise.all(started.map((r) => r.code));
  if (stack) await stopStack(stack.targetFilePath).catch(() => undefined);
});

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves at the first stderr line matching `re`; rejects when the process ends first. */
  waitFor: (re: RegExp) => Promise<void>;
}

function start(script: string, args: string[], extraEnv: Record<string, string> = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, TARGET_FLAWS: '', ...extraEnv };
  for (const k of ['CHAT_URL', 'AUTH_URL', 'WS_URL', 'TENANT_ID', 'LOGIN_EMAIL', 'LOGIN_PASSWORD', 'DURATION', 'PROFILE', 'SCALE']) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.filter((x) => x.re.test(err))) w.resolve();
  });
  const code = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  started.push({ child, code });
  return {
    code,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(err)) return resolve();
        waiters.push({ re, resolve });
        void code.then((c) => reject(new Error(`${script} exited ${c} before ${re}: ${err.slice(-2000)}`)));
      }),
  };
}

const drillArgs = (node: string) => ['--ledger', ledgerPath, '--target', stack!.targetFilePath, '--fault', 'pause', '--node', node, '--at', '5s', '--for', '20s', '--duration', '30s', '--slo-p95-ms', '900'];
// the pause lasts 20 s: a refused drill's start (tsx, on 2 shared cores beside two k6 and two stacks) took 11-15 s
// here, and the refusal made while the pause is on must fall inside it

function secondDrill(node: string): { code: number | null; lines: string[]; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/drill.ts', ...drillArgs(node)], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, lines: r.stderr.split('\n').filter((l) => l.trim() && !/^npm warn/.test(l)), ms: Date.now() - t0 };
}

function runDirOf(stdout: string): string {
  const m = /^run: (\S+)/m.exec(stdout);
  expect(m, stdout.slice(-2000)).not.toBeNull();
  return join(reportsDir, m![1]!);
}

describe('a smoke and a drill at the same time', () => {
  it('both pass with intact reports; a second drill on the drill\'s node is refused (exit 2) before and after its inject', async () => {
    // Two k6 processes, two stacks and two refused drills share 2 cores: seconds of 400-700 ms p95 without any
    // fault, and the 300 ms store p95 broke at 369-461 ms in both runs. Latency is not what this test judges: the
    // limits are widened (the drill's good second: p95 <= 900 ms, still below a stall's 1 s client timeout).
    const drill = start('chaos/cli/drill.ts', drillArgs('dbman-1'), { SLO: CONTENDED_LATENCY_SLO });

    // the first drill holds dbman-1 from its start (its claim), before the fault is injected
    await drill.waitFor(/\[provision\]/);
    const early = secondDrill('dbman-1');
    expect(early.code, early.lines.join('\n')).toBe(2);
    expect(early.lines).toHaveLength(1);
    expect(early.lines[0]).toMatch(/^drill: --node: dbman-1 is being faulted by another drill: pause on dbman-1 at 5s for 20s \(target .*\) \(pid \d+, started .*\); allowed: a node no running drill faults \(npm run chaos -- status\)$/);
    const status = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', 'status', '--ledger', ledgerPath], { cwd: REPO, encoding: 'utf8' });
    expect(status.stdout).toMatch(/^drill running \(pid \d+, since .*\): pause on dbman-1 at 5s for 20s .*; holds dbman-1 \(http:\/\/127\.0\.0\.1:\d+\)$/m);

    // while the pause is on, the ledger names it
    await drill.waitFor(/injected pause on dbman-1/);
    const duringAt = new Date().toISOString();
    const during = secondDrill('dbman-1');
    console.log(`refused drills took ${early.ms} ms and ${during.ms} ms`);
    const ledgerNow = () => `refused drill started ${duringAt}, took ${during.ms} ms; ledger:\n${readFileSync(ledgerPath, 'utf8').split('\n').map((l) => l.slice(0, 200)).join('\n')}`;
    expect(during.code, during.lines.join('\n')).toBe(2);
    expect(during.lines, ledgerNow()).toEqual([expect.stringMatching(/^drill: --node: dbman-1 is being faulted by another drill: pause since \S+ \(run \S+-drill-failover\S*, pid \d+\); allowed: /)]);

    // the smoke starts once the refusals are made: a refused drill beside a starting smoke stack took 11-15 s here and twice saw the claim, not the ledger fault
    const smoke = start('runner/cli/smoke.ts', [], { SLO: CONTENDED_LATENCY_SLO });

    const [drillCode, smokeCode] = await Promise.all([drill.code, smoke.code]);
    expect(smokeCode, smoke.stdout().slice(-3000) + smoke.stderr().slice(-3000)).toBe(0);
    expect(drillCode, drill.stdout().slice(-3000) + drill.stderr().slice(-3000)).toBe(0);

    // intact, separate reports: each run dir has its own complete files, verdict pass
    const runs = [runDirOf(smoke.stdout()), runDirOf(drill.stdout())];
    expect(runs[0]).not.toBe(runs[1]);
    for (const runDir of runs) {
      const s = readRunSummary(join(runDir, 'summary.json'));
      expect(s.verdict, runDir).toBe('pass');
      expect(s.thresholds.every((t) => t.samples > 0)).toBe(true);
      for (const f of Object.values(s.files)) expect(existsSync(join(runDir, f)), `${runDir}/${f}`).toBe(true);
      expect(readFileSync(join(runDir, 'k6.log'), 'utf8')).toMatch(/^# k6 run .* \S+\/dist\/(smoke|failover)-[0-9a-f]{12}\.js$/m);
      expect(readFileSync(join(runDir, 'k6.log'), 'utf8')).toMatch(/^# exit (0|99)$/m);
    }
    expect(JSON.parse(readFileSync(join(runs[1]!, 'drill.json'), 'utf8')).verdict).toBe('pass');
    expect(runs.map((r) => r.split('/').at(-1))).toContain(readlinkSync(join(reportsDir, 'latest')));
    // only the first drill's fault is in the ledger, healed; the refused drills injected nothing
    const faults = new Ledger(ledgerPath).faults();
    expect(faults.map((f) => `${f.inject.fault} ${f.inject.node} healed=${f.healed !== undefined}`)).toEqual(['pause dbman-1 healed=true']);
  }, 180_000);
});
