// Drills against the real reference target and real k6, one at a time (each ~30-45 s): the healthy target passes
// a stop, a kill and a pause of dbman nodes; the flaws single-endpoint, no-cooldown and slow-failover fail
// naming a fault-phase threshold; Toxiproxy faults show up in the figures; a SIGKILLed drill leaves a paused
// node that `chaos heal` resumes; bad usage exits 2 and a failing steady state injects nothing.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { readRunSummary } from '../../runner/summary.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processTree } from '../../chaos/drivers/proc.js';
import type { DrillReport } from '../../chaos/drill/report.js';
import { Ledger } from '../../chaos/ledger.js';
import { freePort } from '../../chaos/toxiproxy/server.js';
import { readTargetFile } from '../../runner/target-file.js';
import { startStack, stopStack } from '../../reference-target/launcher/stack.js';
import { procState, REPO, runDrillCli, tempDir, widePhaseLatency, type DrillRan } from './helpers.js';
import { pool } from '../cli/helpers.js';

const dir = tempDir('chaos-drill-');
const ledgerPath = join(dir, 'ledger.jsonl');
const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await stopStack(s).catch(() => undefined);
});

type Ran = DrillRan;
const drill = (args: string[], env: Record<string, string> = {}): Promise<Ran> => runDrillCli(ledgerPath, args, env);

const SHORT = ['--at', '5s', '--for', '6s', '--duration', '16s'];
/** The stack's dbman client made healthy for a pause under the drill's load (threshold 1, cooldown past the fault); phase latency limits widened. */
const HEALTHY_PAUSE_ENV = {
  DBMAN_FAIL_THRESHOLD: '1',
  DBMAN_COOLDOWN_MS: '15000',
  SLO: JSON.stringify({ phases: widePhaseLatency(2500) }),
};

function runFaultsHealed(r: DrillReport): void {
  const mine = new Ledger(ledgerPath).faults().filter((f) => f.inject.runId === r.runId);
  expect(mine.length).toBe(r.faults.length);
  for (const f of mine) expect(f.healed, `${f.inject.fault} ${f.inject.node} healed`).toBeDefined();
  expect(r.after.every((c) => c.ok), JSON.stringify(r.after)).toBe(true);
}

/** A target file whose URLs leave loopback (TEST-NET-1): the drill must refuse it before sending anything. */
function remoteTarget(): string {
  const file = join(dir, 'remote-target.json');
  const u = 'http://192.0.2.1:8080';
  writeFileSync(
    file,
    JSON.stringify({ version: 1, name: 'remote', chatUrl: u, authUrl: u, wsUrl: 'ws://192.0.2.1:8080/ws', tenantId: 't', login: { email: 'a', password: 'b' }, dbmanNodes: [{ name: 'dbman-1', url: u, faults: { pid: 1 } }] }),
  );
  return file;
}

describe('drill usage (nothing started, nothing sent)', () => {
  const bad: [string[], RegExp][] = [
    [['--fault', 'melt', '--node', 'dbman-1'], /^drill: --fault: .*stop.*kill.*pause/],
    [['--fault', 'kill', '--node', 'dbman-1', '--at', 'soon'], /^drill: --at: not a duration/],
    [['--fault', 'kill'], /^drill: --node: required/],
    // --at 20s --for 20s --duration 30s (the fault outlasting the load): tests/cli/bad-input.test.ts, 'run too short for its window'
    [['--fault', 'kill', '--node', 'dbman-1', '--target', '/nonexistent/target.json'], /^drill: --target: target file .*ENOENT/],
    [['--fault', 'kill', '--node', 'dbman-1', '--profile', 'huge'], /^drill: --profile: /],
    [['--fault', 'kill', '--node', 'dbman-1', '--target', 'REMOTE'], /^drill: --target chatUrl: host "192\.0\.2\.1" is outside loopback; allowed: 127\.0\.0\.0\/8, localhost, ::1, or pass --allow-remote$/],
    [['--fault', 'kill', '--node', 'dbman-1', '--allow-remote'], /^drill: --allow-remote: only with --target <file>/],
    [['--fault', 'kill', '--node', 'dbman-1', '--target', '/nonexistent/target.json', '--dbman-lb', '--lb'], /^drill: --lb, --dbman-lb: only without --target/],
    [['--fault', 'kill', '--node', 'dbman-1', '--docker', '--allow-remote'], /^drill: --allow-remote: only with --target <file>, not with --docker/],
  ];
  // refused before anything starts, so three at a time (as tests/cli/bad-input.test.ts runs its cases)
  let ran: Promise<Ran[]> | undefined;
  const overlapFile = () => {
    const file = join(dir, 'overlap.yaml');
    writeFileSync(file, 'faults:\n  - {fault: kill, node: dbman-1, at: 5s, for: 10s}\n  - {fault: pause, node: dbman-1, at: 8s, for: 5s}\n');
    return file;
  };
  const jobs = [...bad.map(([args]) => () => drill(args.map((a) => (a === 'REMOTE' ? remoteTarget() : a)))), () => drill(['--file', overlapFile()])];
  const refusals = () => (ran ??= pool(jobs, 3));
  bad.forEach(([args, re], i) => {
    it(`exits 2 with one line: ${args.join(' ')}`, async () => {
      const r = (await refusals())[i]!;
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^npm warn/.test(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
    }, 60_000);
  });

  it('a drill file with overlapping faults on one node is refused, naming the fault', async () => {
    const r = (await refusals())[bad.length]!;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/faults\.1\.at: overlaps fault 0 on the same node dbman-1/);
  }, 60_000);

  it('a network fault against a target file without toxiproxy access is refused before anything is sent', async () => {
    const file = join(dir, 'target.json');
    const port = await freePort(); // nothing listens there
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        name: 'nowhere',
        chatUrl: `http://127.0.0.1:${port}`,
        authUrl: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        tenantId: 'default',
        login: { email: 'a@b', password: 'x' },
        dbmanNodes: [{ name: 'dbman-1', url: `http://127.0.0.1:${port}`, faults: { pid: 1 } }],
      }),
    );
    const r = await drill(['--fault', 'partition', '--node', 'dbman-1', '--target', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--node: fault partition on dbman-1: no driver reaches it/);
    // a steady state that fails: exit 1, its own message, no fault in the ledger
    const s = await drill(['--fault', 'pause', '--node', 'dbman-1', '--target', file]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/drill: steady state not met, no fault injected: dbman-1 \/health\/ready \(ECONNREFUSED\)/);
    expect(s.report?.steadyState.some((c) => !c.ok)).toBe(true);
    expect(new Ledger(ledgerPath).faults().filter((f) => f.inject.runId === s.report?.runId)).toEqual([]);
  });
});

/** One healthy reference stack (stopped in afterAll) for the two interrupted drills: each leaves every node ready. */
let interrupted: ReturnType<typeof startStack> | undefined;
function interruptedStack(): { targetFilePath: string; stack: ReturnType<typeof startStack> } {
  const targetFilePath = join(dir, 'interrupted-target.json');
  if (!interrupted) {
    stacks.push(targetFilePath);
    interrupted = startStack({ targetFilePath, flaws: [] });
  }
  return { targetFilePath, stack: interrupted };
}

/**
 * A drill against the shared interrupted-drills stack that pauses `node` at `at` for 14 s of a 20 s load; resolves
 * once the pause is injected.
 */
async function drillUntilPaused(node: string, at: string) {
  const shared = interruptedStack();
  const targetFilePath = shared.targetFilePath;
  const stack = await shared.stack;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'chaos/cli/drill.ts', '--ledger', ledgerPath, '--target', targetFilePath, '--fault', 'pause', '--node', node, '--at', at, '--for', '14s', '--duration', '20s'],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (new RegExp(`injected pause on ${node}`).test(err)) resolve();
    });
    void exited.then((c) => reject(new Error(`drill exited ${c} before injecting: ${err.slice(-2000)}`)));
  });
  return { stack, child, exited, targetFilePath, stderr: () => err };
}

describe('drills on the reference target', () => {
  it('the healthy target passes a kill, a stop and a pause of dbman nodes (one drill file, three faults)', async () => {
    const file = join(dir, 'healthy.yaml');
    writeFileSync(
      file,
      [
        'name: healthy kill, stop, pause',
        // 8 s after the last heal for recovery to hold
        'duration: 43s',
        // a good second: p95 <= 900 ms (default 500), still below a stall's 1 s client timeout; this load alone
        // keeps the reference stack near 500 ms p95 on 2 cores (baseline 547 ms here, no fault)
        'slo: {p95Ms: 900}',
        'faults:',
        '  - {fault: kill, node: dbman-1, at: 8s, for: 7s}',
        '  - {fault: stop, node: dbman-2, at: 18s, for: 7s}',
        '  - {fault: pause, node: dbman-3, at: 28s, for: 7s}',
        '',
      ].join('\n'),
    );
    // A healthy client for this load: it sets a frozen node aside at its first timeout and keeps it aside for the
    // whole fault. With the stack's threshold 3 the msa services' sparse requests (one in three reaching the frozen
    // node) take ~6 s to trip, and with its 3 s cooldown the stall comes back every ~5 s: both are breaches the
    // drill rightly reports (no-cooldown below). The phases' latency limits are widened: the load's first seconds
    // on a cold stack and 2 cores broke the 300 ms store p95 here, which is not what this test judges.
    const r = await drill(['--file', file], HEALTHY_PAUSE_ENV);
    expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(0);
    const rep = r.report!;
    expect(rep.verdict).toBe('pass');
    expect(rep.faults.map((f) => [f.fault, f.node, f.driver])).toEqual([
      ['kill', 'dbman-1', 'process'],
      ['stop', 'dbman-2', 'process'],
      ['pause', 'dbman-3', 'process'],
    ]);
    for (const f of rep.faults) {
      expect(f.failoverS).not.toBeNull();
      expect(f.failoverS!).toBeLessThanOrEqual(5);
      expect(f.recoveryS).not.toBeNull();
      expect(Date.parse(f.healAt!) - Date.parse(f.injectAt!)).toBeGreaterThan(6500);
    }
    // a freeze is seen (requests wait the dbman client timeout, 1 s in the reference stack, until the node is
    // set aside), a dead node is not: connection refused moves on at once
    expect(rep.faults[2]).toMatchObject({ fault: 'pause', impactSeen: true });
    expect(rep.faults[2]!.failoverS!).toBeGreaterThan(0);
    expect(rep.phases.fault!.p99Ms!).toBeGreaterThan(900);
    expect(rep.readiness['dbman-1']!.some((p) => !p.ready)).toBe(true);
    expect(r.stdout).toMatch(/kill dbman-1 \(process\) inject .* failover \d/);
    runFaultsHealed(rep);
  }, 150_000);

  it('single-endpoint: a kill of the first node fails, naming the fault-phase error rate; failover never happens', async () => {
    const r = await drill(['--fault', 'kill', '--node', 'dbman-1', ...SHORT], { TARGET_FLAWS: 'single-endpoint' });
    expect(r.code).toBe(1);
    const rep = r.report!;
    expect(rep.breached.join('\n')).toMatch(/http_req_failed\{phase:fault\}: rate<=0\.05/);
    const f = rep.faults[0]!;
    expect(f.failoverS).toBeNull();
    expect(f.failedDuringFault!).toBeGreaterThan(50);
    // the first error k6 sees follows the inject within a second (connection refused is immediate)
    expect(f.firstErrorOffsetS!).toBeGreaterThanOrEqual(0);
    expect(f.firstErrorOffsetS!).toBeLessThan(1);
    expect(r.stdout).toMatch(/FAIL .*http_req_failed\{phase:fault\}/);
    runFaultsHealed(rep);
  }, 120_000);

  it('no-cooldown: a pause of the first node fails, naming the fault-phase failover time', async () => {
    const r = await drill(['--fault', 'pause', '--node', 'dbman-1', ...SHORT], { TARGET_FLAWS: 'no-cooldown' });
    expect(r.code).toBe(1);
    const rep = r.report!;
    expect(rep.breached.join('\n')).toMatch(/failover_time\{phase:fault,fault:pause,node:dbman-1\}: <=5s \(observed SLO never held/);
    expect(rep.faults[0]!.failoverS).toBeNull();
    runFaultsHealed(rep);
  }, 120_000);

  it('slow-failover: a pause shows fault-phase p95 near the 5 s client timeout and fails on the fault-phase p95', async () => {
    const r = await drill(['--fault', 'pause', '--node', 'dbman-1', ...SHORT], { TARGET_FLAWS: 'slow-failover' });
    expect(r.code).toBe(1);
    const rep = r.report!;
    expect(rep.phases.fault!.p95Ms!).toBeGreaterThan(4500);
    expect(rep.phases.fault!.p95Ms!).toBeLessThan(6500);
    expect(rep.breached.join('\n')).toMatch(/http_req_duration\{phase:fault\}: p\(95\)<=3000/);
    runFaultsHealed(rep);
  }, 120_000);

  it('partition and latency through Toxiproxy show up in the figures', async () => {
    const file = join(dir, 'network.yaml');
    writeFileSync(
      file,
      [
        'duration: 24s',
        'faults:',
        '  - {fault: partition, node: dbman-1, at: 4s, for: 6s}',
        '  - {fault: latency, node: dbman-2, at: 13s, for: 6s, params: {latencyMs: 400, jitterMs: 50}}',
        '',
      ].join('\n'),
    );
    const r = await drill(['--file', file]);
    expect(r.code, r.stderr.slice(-3000)).not.toBe(2);
    const rep = r.report!;
    const [part, lat] = rep.faults;
    expect(part).toMatchObject({ fault: 'partition', driver: 'toxiproxy', impactSeen: true });
    expect(lat).toMatchObject({ fault: 'latency', driver: 'toxiproxy', impactSeen: true });
    // a blackhole costs the dbman client timeout (1 s); 400 ms of latency per call stays below it
    expect(rep.phases.fault!.p95Ms!).toBeGreaterThan(400);
    expect(rep.phases.baseline!.p95Ms!).toBeLessThan(rep.phases.fault!.p95Ms!);
    // the node itself stays ready during a partition of its link (health goes around the proxy)
    expect(rep.readiness['dbman-1']!.every((p) => p.ready)).toBe(true);
    runFaultsHealed(rep);
  }, 120_000);

  it('SIGTERM during a pause: the drill heals before it exits (143), the node answers again', async () => {
    const { stack, child, exited, stderr } = await drillUntilPaused('dbman-3', '3s');
    const node = stack.target.dbmanNodes.find((n) => n.name === 'dbman-3')!;
    expect(procState(node.faults.pid!)).toBe('T');
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr()).toMatch(/SIGTERM: healing/);
    expect(procState(node.faults.pid!)).not.toBe('T');
    expect((await fetch(`${node.url}/health/ready`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);
    expect(new Ledger(ledgerPath).active()).toEqual([]);
    // k6 was stopped too: nothing of the drill is left running
    expect(processTree(child.pid!)).toEqual([]);
  }, 90_000);

  it('kill -9 of a drill while a node is paused, then chaos heal: nothing paused, every node ready', async () => {
    const { stack, child, exited, targetFilePath } = await drillUntilPaused('dbman-2', '4s');
    const k6 = processTree(child.pid!).slice(1);
    child.kill('SIGKILL');
    await exited;
    for (const p of k6) {
      try {
        process.kill(p.pid, 'SIGKILL'); // k6 would otherwise finish its 20 s alone
      } catch {
        /* gone */
      }
    }
    const paused = stack.target.dbmanNodes.find((n) => n.name === 'dbman-2')!;
    expect(procState(paused.faults.pid!)).toBe('T');

    const cli = (cmd: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', cmd, '--ledger', ledgerPath, '--target', targetFilePath], { cwd: REPO, encoding: 'utf8' });
    expect(cli('status').stdout).toMatch(/pause on dbman-2 via process/);
    const heal = cli('heal');
    expect(heal.status, heal.stderr).toBe(0);
    expect(heal.stdout).toMatch(/healed pause on dbman-2: SIGCONT/);
    for (const n of readTargetFile(targetFilePath).dbmanNodes) {
      expect(procState(n.faults.pid!)).not.toBe('T');
      const res = await fetch(`${n.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      expect(res.status, n.name).toBe(200);
    }
    expect(cli('status').stdout).toMatch(/nothing injected/);
  }, 90_000);
});

/** Every file under `root`, as text (gzipped ones unpacked). */
function filesText(root: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...filesText(p));
    else {
      const buf = readFileSync(p);
      out.push({ path: p, text: (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8') });
    }
  }
  return out;
}

describe('the msa part in a drill', () => {
  it('single-endpoint@session, dbman-1 paused: session’s per-service thresholds fail, chat’s and tenanthub’s hold; per-service figures; no tenants body in any file', async () => {
    const targetFilePath = join(dir, 'msa.json');
    stacks.push(targetFilePath);
    const stack = await startStack({ targetFilePath, flaws: ['single-endpoint@session'] });
    // a dedicated tenant with secrets: every tenants list of the run carries them
    const secret = `minio-secret-${randomUUID()}`;
    const dsn = `postgres://tenant:pw-${randomUUID()}@tenant-db:5432/t`;
    const db = new pg.Client({ connectionString: stack.target.reference!.postgres.url });
    await db.connect();
    await db.query(
      `INSERT INTO tenants (id, name, deployment_mode, dedicated_dsn, dedicated_minio_access_key, dedicated_minio_secret_key)
       VALUES ('dedicated-1', 'Dedicated', 'dedicated', $1, 'AKIA-TEST', $2)`,
      [dsn, secret],
    );
    await db.end();
    const r = await drill(['--target', targetFilePath, '--fault', 'pause', '--node', 'dbman-1', '--at', '5s', '--for', '8s', '--duration', '20s']);
    expect(r.code, r.stdout + r.stderr.slice(-3000)).toBe(1);
    expect(r.stderr).toMatch(/msa part on: session http/);
    const rep = r.report!;
    const summary = readRunSummary(join(REPO, 'reports', rep.runId, 'summary.json'));
    const result = (id: string) => summary.thresholds.find((t) => t.id === id)?.result;
    expect(result('fault.session.error_rate')).toBe('fail');
    for (const svc of ['chat', 'tenanthub']) {
      for (const phase of ['baseline', 'fault', 'recovery']) {
        expect(result(`${phase}.${svc}.error_rate`), `${phase}.${svc}.error_rate`).toBe('pass');
        expect(result(`${phase}.${svc}.http_p95`), `${phase}.${svc}.http_p95`).toBe('pass');
      }
    }
    expect(result('baseline.session.error_rate')).toBe('pass');
    // the other failures are the msa part's own aggregate (session's requests are in it), nothing of chat's
    expect(summary.thresholds.filter((t) => t.result !== 'pass').map((t) => t.id).sort()).toEqual(['fault.session.error_rate', 'msa.error_rate', 'msa.session.error_rate']);
    // each service's view of the pause: session fails throughout, chat and tenanthub fail over (no error)
    const f = rep.faults[0]!;
    const svc = f.services!;
    expect(Object.keys(svc).sort()).toEqual(expect.arrayContaining(['chat', 'session', 'tenanthub']));
    expect(svc['session']!.failed).toBeGreaterThan(5);
    // 2 msa VUs, each status update failing after the 1 s client timeout: failures end in most seconds of the pause
    expect(svc['session']!.longestErrorBurst!.seconds).toBeGreaterThanOrEqual(2);
    expect(svc['session']!.p95Ms!).toBeGreaterThan(900);
    expect(svc['tenanthub']!.failed).toBe(0);
    expect(svc['chat']!.failed).toBe(0);
    expect(r.stdout).toMatch(/^ {4}per service during the fault:$/m);
    expect(r.stdout).toMatch(/^ {6}session: \d+\/\d+ failed \([\d.]+%\), p95 \d+ ms max \d+ ms, longest error burst \d+s/m);
    expect(r.stdout).toMatch(/^ {6}tenanthub: 0\/\d+ failed \(0\.0%\)/m);
    process.stdout.write(`[msa drill] ${Object.entries(svc).map(([k, v]) => `${k}: ${v.failed}/${v.requests} failed, p95 ${v.p95Ms} ms, max ${v.maxMs} ms`).join('; ')}\n`);
    // the tenants list's secrets are in no file of the run and nowhere in the output
    const files = filesText(join(REPO, 'reports', rep.runId));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      expect(file.text.includes(secret), file.path).toBe(false);
      expect(file.text.includes(dsn), file.path).toBe(false);
    }
    expect(r.stdout + r.stderr).not.toContain(secret);
    runFaultsHealed(rep);
  }, 150_000);
});
