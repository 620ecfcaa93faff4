/**
 * The docker driver and drills on the real Docker engine, against `stack up --docker` stacks (dbman nodes and chat
 * instances in containers): pause, partition (network disconnect), stop, kill, restart of one dbman container with
 * idempotent heals and ledger lines; then one drill file (a stop, a pause and a partition of dbman-1, 6 s each) on a
 * healthy stack, which holds the SLO, and on a `single-endpoint` stack, which breaches each fault's failover time. Every container and network the
 * stacks create is removed in afterAll, also on failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Component } from '../../runner/target-file.js';
import { DockerDriver } from '../../chaos/drivers/docker.js';
import { Ledger } from '../../chaos/ledger.js';
import { Nemesis } from '../../chaos/nemesis.js';
import { FaultStep } from '../../chaos/faults.js';
import { startDockerStack } from '../../reference-target/launcher/docker-stack.js';
import { stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { REPO, probe, widePhaseLatency } from '../chaos/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'docker-drill-test-'));
const docker = new Docker();
const stacks: RunningStack[] = [];
let healthy: RunningStack;

beforeAll(async () => {
  healthy = await startDockerStack({ flaws: [], targetFilePath: join(dir, 'healthy.json'), log: (l) => process.stdout.write(`[docker stack] ${l}\n`) });
  stacks.push(healthy);
}, 300_000);

afterAll(async () => {
  for (const s of stacks) if (existsSync(s.targetFilePath)) await stopStack(s.targetFilePath).catch(() => undefined);
  for (const s of stacks) {
    const res = s.target.reference?.['docker'] as { network: string; containers: string[] };
    const left = await docker.listContainers({ all: true, filters: { label: [`dbman-target.stack=${res.network}`] } });
    expect(left).toEqual([]);
    expect((await docker.listNetworks({ filters: { name: [res.network] } })).filter((n) => n.Name === res.network)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const node = (name: string): Component => healthy.target.dbmanNodes.find((n) => n.name === name)!;
const inspect = (c: string) => docker.getContainer(c).inspect();

async function waitReady(url: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function login(): Promise<number> {
  const t = healthy.target;
  const r = await fetch(`${t.authUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant_id: t.tenantId, email: t.login.email, password: t.login.password }),
  });
  return r.status;
}

describe('docker stack', () => {
  it('runs dbman and chat as containers published on 127.0.0.1 only, with faults.container', async () => {
    const t = healthy.target;
    expect(t.dbmanNodes).toHaveLength(3);
    for (const c of [...t.dbmanNodes, ...t.chatInstances]) {
      expect(c.faults.container).toBeDefined();
      expect(new URL(c.url).hostname).toBe('127.0.0.1');
      const info = await inspect(c.faults.container!);
      expect(info.State.Running).toBe(true);
      for (const bindings of Object.values(info.HostConfig.PortBindings ?? {}) as { HostIp: string }[][]) {
        for (const b of bindings) expect(b.HostIp).toBe('127.0.0.1');
      }
    }
    expect(await login()).toBe(200);
  });
});

describe('docker driver', () => {
  const ledgerPath = join(dir, 'ledger.jsonl');
  const nemesis = () => new Nemesis({ ledger: new Ledger(ledgerPath), drivers: [new DockerDriver({ stopTimeoutS: 5 })] });
  const step = (fault: string) => FaultStep.parse({ fault, node: 'dbman-2', at: 0, for: 1 });

  it('pause freezes the container, heal unpauses it, a second heal does nothing', async () => {
    const n = node('dbman-2');
    const nem = nemesis();
    const inj = await nem.inject(step('pause'), n);
    expect(inj.driver).toBe('docker');
    expect((await inspect(n.faults.container!)).State.Paused).toBe(true);
    expect(await probe(`${n.url}/health/live`, 500)).toBe('timeout');
    const h = await nem.heal(inj.id);
    expect(h.outcome.detail).toMatch(/^unpaused /);
    await waitReady(n.url);
    const d = new DockerDriver();
    const handle = await d.prepare(step('pause'), n);
    expect((await d.heal('pause', handle)).detail).toMatch(/not paused/);
    const lines = readFileSync(ledgerPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; driver?: string });
    expect(lines.filter((l) => l.id === inj.id).map((l) => l.type)).toEqual(['inject', 'applied', 'healed']);
  }, 60_000);

  it('partition disconnects it from its network (chat still serves), heal reconnects it under the same name', async () => {
    const n = node('dbman-2');
    const nem = nemesis();
    const inj = await nem.inject(step('partition'), n);
    const net = healthy.target.reference?.['docker'] as { network: string };
    expect(Object.keys((await inspect(n.faults.container!)).NetworkSettings.Networks ?? {})).not.toContain(net.network);
    expect(await probe(`${n.url}/health/live`, 1000)).not.toBe('ok');
    expect(await login()).toBe(200);
    const h = await nem.heal(inj.id);
    expect(h.outcome.detail).toContain(`reconnected ${n.faults.container} to ${net.network}`);
    await waitReady(n.url);
    const d = new DockerDriver();
    const handle = await d.prepare(step('partition'), n);
    expect(handle.networks!.map((x) => x.name)).toEqual([net.network]);
    const again = await d.heal('partition', handle);
    expect(again.detail).toMatch(/already on its networks/);
  }, 60_000);

  for (const fault of ['stop', 'kill', 'restart'] as const) {
    it(`${fault}: the container ${fault === 'restart' ? 'comes back by itself' : 'stops'}, heal starts it, a second heal does nothing`, async () => {
      const n = node('dbman-3');
      const nem = nemesis();
      const inj = await nem.inject(FaultStep.parse({ fault, node: 'dbman-3', at: 0, for: 1 }), n);
      expect((await inspect(n.faults.container!)).State.Running).toBe(fault === 'restart');
      const h = await nem.heal(inj.id);
      expect(h.outcome.detail).toMatch(fault === 'restart' ? /running/ : /^started /);
      await waitReady(n.url);
      const d = new DockerDriver();
      expect((await d.heal(fault, await d.prepare(FaultStep.parse({ fault, node: 'dbman-3', at: 0, for: 1 }), n))).detail).toMatch(/running/);
    }, 60_000);
  }
});

interface DrillOut {
  code: number;
  out: string;
  drill: { breached: string[]; errors: string[]; faults: { driver: string; failedDuringFault: number; failoverS: number | null }[] };
}

/**
 * `npm run drill` against a docker stack's target file with one drill file: a stop, a pause and a partition of
 * dbman-1, 6 s each, 4 s apart (one drill, not three: ~40 s of load instead of 3 × 18 s plus three k6 starts),
 * 2 good seconds in a row count as failed over (of the 6). dbman-1 each time: the single-endpoint flaw's clients
 * use the first node only, so a fault elsewhere would not touch them.
 */
function drill(targetFile: string, name: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<DrillOut> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: docker ${name} stop, pause, partition`,
      'duration: 40s',
      'faults:',
      ...FAULTS.map((f, i) => `  - {fault: ${f}, node: dbman-1, at: ${6 + 10 * i}s, for: 6s}`),
      '',
    ].join('\n'),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'chaos/cli/drill.ts', '--target', targetFile, '--file', file, '--hold', '2', '--ledger', join(dir, `drill-${name}.jsonl`), ...extraArgs],
      { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const m = /run: \S+ \((\S+)[,)]/.exec(out);
      const path = m ? join(m[1]!.startsWith('/') ? '' : REPO, m[1]!, 'drill.json') : '';
      if (!path || !existsSync(path)) return reject(new Error(`no drill.json (exit ${code}): ${out.slice(-1500)}`));
      resolve({ code: code ?? -1, out, drill: JSON.parse(readFileSync(path, 'utf8')) as DrillOut['drill'] });
    });
  });
}

const FAULTS = ['stop', 'pause', 'partition'] as const;
const WIDE_PHASE_LATENCY = JSON.stringify({ phases: widePhaseLatency(2500) });

describe('drills on the docker stack', () => {
  it('healthy target: a stop, a pause and a partition of dbman-1 hold the SLO', async () => {
    // Latency is not what this judges (the single-endpoint case below judges the faults): the docker stack and
    // k6 on 2 cores sit at 300-370 ms p95 before any fault. A good second is p95 <= 900 ms (default 500, still
    // below the 1 s client timeout a stall costs): a stop's drain pushed two seconds to 568-615 ms with no error,
    // and a healthy stop "never held the SLO". The phases' p95 limits are 2.5 s: a container started again by
    // the heal made a 6 s recovery phase's p95 808 ms in another run, with no error.
    const r = await drill(healthy.targetFilePath, 'healthy', ['--slo-p95-ms', '900'], { SLO: WIDE_PHASE_LATENCY });
    expect(r.drill.faults.map((f) => f.driver)).toEqual(['docker', 'docker', 'docker']);
    expect(r.drill.errors).toEqual([]);
    expect(r.drill.breached, r.out.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    await waitReady(node('dbman-1').url);
  }, 120_000);

  it('single-endpoint: a stop, a pause and a partition of dbman-1 each fail requests; the drill breaches fault-phase thresholds', async () => {
    const flawed = await startDockerStack({ flaws: ['single-endpoint'], targetFilePath: join(dir, 'single.json') });
    stacks.push(flawed);
    // the abort thresholds off: with every request failing in two fault windows, a starved machine (30 % CPU
    // steal in one run) put the whole run's error rate past 50 % before the third fault, k6 stopped early
    // ("target plainly down") and the partition was never injected; this judges each fault, so all three must run
    const r = await drill(flawed.targetFilePath, 'single-endpoint', [], { SLO: JSON.stringify({ abort: { storeSuccessMin: 0, errorRateMax: 1, wsSessionOkMin: 0 } }) });
    expect(r.code).toBe(1);
    expect(r.drill.faults.map((f) => f.driver)).toEqual(['docker', 'docker', 'docker']);
    r.drill.faults.forEach((f, i) => expect(f.failedDuringFault, FAULTS[i]).toBeGreaterThan(0));
    expect(r.drill.breached.some((b) => /phase:fault|^fault\./.test(b)), r.drill.breached.join('; ')).toBe(true);
    // each fault on its own: the client never fails over from its one endpoint
    for (const f of FAULTS) expect(r.drill.breached.join('\n'), f).toMatch(new RegExp(`failover_time\\{phase:fault,fault:${f},node:dbman-1\\}`));
  }, 300_000);
});
