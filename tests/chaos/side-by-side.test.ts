/**
 * Runs side by side in one checkout (issue 19): a smoke (its own reference target) and a drill (pause of dbman-1
 * on a shared target) started at the same instant both pass, each with its own intact run dir; while the drill
 * runs, a second drill on dbman-1 is refused with exit 2 and one line, before anything starts, both before the
 * first drill's fault is injected (its node claim) and while it is (the ledger), and `chaos status` lists the
 * running drill. A drill on another node of the same target would go ahead (tests/chaos/busy.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../chaos/ledger.js';
import { readRunSummary } from '../../runner/summary.js';
import { reportsDir } from '../../runner/paths.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { REPO, tempDir } from './helpers.js';

const dir = tempDir('side-by-side-');
const ledgerPath = join(dir, 'ledger.jsonl');
let stack: RunningStack | undefined;
beforeAll(async () => {
  stack = await startStack({ targetFilePath: join(dir, 'target.json'), flaws: [] });
}, 120_000);
afterAll(async () => {
  if (stack) await stopStack(stack.targetFilePath).catch(() => undefined);
});

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves at the first stderr line matching `re`; rejects when the process ends first. */
  waitFor: (re: RegExp) => Promise<void>;
}

function start(script: string, args: string[]): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, TARGET_FLAWS: '' };
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

const drillArgs = (node: string) => ['--ledger', ledgerPath, '--target', stack!.targetFilePath, '--fault', 'pause', '--node', node, '--at', '5s', '--for', '12s', '--duration', '22s'];
// the pause lasts 12 s: a refused drill's start (tsx, on 2 shared cores beside two k6 and two stacks) takes seconds

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
    const drill = start('chaos/cli/drill.ts', drillArgs('dbman-1'));
    const smoke = start('runner/cli/smoke.ts', []);

    // the first drill holds dbman-1 from its start (its claim), before the fault is injected
    await drill.waitFor(/\[provision\]/);
    const early = secondDrill('dbman-1');
    expect(early.code, early.lines.join('\n')).toBe(2);
    expect(early.lines).toHaveLength(1);
    expect(early.lines[0]).toMatch(/^drill: --node: dbman-1 is being faulted by another drill: pause on dbman-1 at 5s for 12s \(target .*\) \(pid \d+, started .*\); allowed: a node no running drill faults \(npm run chaos -- status\)$/);
    const status = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', 'status', '--ledger', ledgerPath], { cwd: REPO, encoding: 'utf8' });
    expect(status.stdout).toMatch(/^drill running \(pid \d+, since .*\): pause on dbman-1 at 5s for 12s .*; holds dbman-1 \(http:\/\/127\.0\.0\.1:\d+\)$/m);

    // while the pause is on, the ledger names it
    await drill.waitFor(/injected pause on dbman-1/);
    const during = secondDrill('dbman-1');
    console.log(`refused drills took ${early.ms} ms and ${during.ms} ms`);
    expect(during.code, during.lines.join('\n')).toBe(2);
    expect(during.lines).toEqual([expect.stringMatching(/^drill: --node: dbman-1 is being faulted by another drill: pause since \S+ \(run \S+-drill-failover\S*, pid \d+\); allowed: /)]);

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
