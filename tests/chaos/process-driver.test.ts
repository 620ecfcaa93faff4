// The process driver and the ledger against real child processes: pause really freezes, kill/stop really end
// the process and heal starts it again from the recorded command line, heal is idempotent, and `chaos heal`
// undoes what a SIGKILLed drill left behind.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultStep } from '../../chaos/faults.js';
import { Ledger } from '../../chaos/ledger.js';
import { defaultDrivers, Nemesis } from '../../chaos/nemesis.js';
import { PidState, pidStatePathFor, withRecordedPids } from '../../chaos/pid-state.js';
import type { TargetFile } from '../../runner/target-file.js';
import { FIXTURES, killAll, probe, procState, REPO, startHttpNode, tempDir, track, type HttpNode } from './helpers.js';

const restarted: number[] = [];
afterEach(() => {
  killAll(restarted);
  restarted.length = 0;
});

function setup() {
  const dir = tempDir();
  const ledger = new Ledger(join(dir, 'ledger.jsonl'));
  const nemesis = new Nemesis({ ledger, drivers: defaultDrivers(join(dir, 'logs')) });
  return { dir, ledger, nemesis };
}
const step = (fault: string, node = 'node-a') => FaultStep.parse({ fault, node, at: 0, for: 5 });
const comp = (n: HttpNode, name = 'node-a') => ({ name, url: n.url, faults: { pid: n.pid } });

describe('process driver', () => {
  it('pause freezes the server (requests time out) and heal resumes it', async () => {
    const { nemesis, ledger } = setup();
    const n = await startHttpNode();
    expect(await probe(n.url)).toBe('ok');
    const inj = await nemesis.inject(step('pause'), comp(n));
    expect(procState(n.pid)).toBe('T');
    expect(await probe(n.url, 700)).toBe('timeout');
    expect(ledger.active().map((f) => f.inject.id)).toEqual([inj.id]);
    await nemesis.heal(inj.id);
    expect(procState(n.pid)).not.toBe('T');
    expect(await probe(n.url)).toBe('ok');
    expect(ledger.active()).toEqual([]);
    // idempotent: a second heal does nothing and does not fail
    expect((await nemesis.heal(inj.id)).outcome.detail).toBe('already healed');
  });

  it('pause of a wrapped node freezes the child that serves, not just the wrapper', async () => {
    const { nemesis } = setup();
    const n = await startHttpNode({ wrapped: true });
    const inj = await nemesis.inject(step('pause'), comp(n));
    expect(await probe(n.url, 700)).toBe('timeout');
    await nemesis.heal(inj.id);
    expect(await probe(n.url)).toBe('ok');
  });

  for (const fault of ['kill', 'stop'] as const) {
    it(`${fault} ends the process (connection refused) and heal starts it again from the recorded command line`, async () => {
      const { nemesis, ledger } = setup();
      const n = await startHttpNode();
      const inj = await nemesis.inject(step(fault), comp(n));
      expect(['gone', 'Z']).toContain(procState(n.pid)); // Z: dead, not yet reaped by this test process
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(await probe(n.url));
      const healed = await nemesis.heal(inj.id);
      const newPid = healed.outcome.newPid!;
      restarted.push(newPid);
      expect(newPid).toBeGreaterThan(0);
      expect(newPid).not.toBe(n.pid);
      expect(await probe(n.url)).toBe('ok');
      const body = (await (await fetch(n.url)).json()) as { pid: number };
      expect(body.pid).toBe(newPid);
      expect(ledger.get(inj.id)?.healed?.newPid).toBe(newPid);
      // idempotent in another process's eyes too: a fresh nemesis on the same ledger finds nothing to heal
      const again = await new Nemesis({ ledger }).healAll();
      expect(again).toEqual({ healed: [], errors: [] });
    });
  }

  it('two heals of one kill at once (scheduled heal + heal-all after the load) start the node once', async () => {
    const { nemesis, ledger, dir } = setup();
    const n = await startHttpNode();
    const inj = await nemesis.inject(step('kill'), comp(n));
    const [one, all] = await Promise.all([nemesis.heal(inj.id), nemesis.healAll()]);
    restarted.push(one.outcome.newPid!);
    expect(all.errors).toEqual([]);
    expect(all.healed.map((h) => h.outcome.newPid)).toEqual([one.outcome.newPid]);
    expect(ledger.lines().filter((l) => l.type === 'healed')).toHaveLength(1);
    const started = readdirSync(join(dir, 'logs'));
    expect(started).toHaveLength(1);
  });

  it('restart records the new pid in the ledger and the pid state, and leaves the target file byte-identical', async () => {
    const { dir, ledger } = setup();
    const n = await startHttpNode();
    const targetFilePath = join(dir, 'target.json');
    const text = JSON.stringify({ dbmanNodes: [{ name: 'node-a', url: n.url, faults: { pid: n.pid } }], reference: { processes: [{ name: 'node-a', pid: n.pid }] } });
    writeFileSync(targetFilePath, text);
    const nemesis = new Nemesis({ ledger, drivers: defaultDrivers(join(dir, 'logs')), targetFilePath });
    const inj = await nemesis.inject(step('restart'), comp(n));
    const applied = ledger.lines().find((l) => l.type === 'applied' && l.id === inj.id) as { newPid?: number };
    expect(applied.newPid).toBeGreaterThan(0);
    restarted.push(applied.newPid!);
    expect(readFileSync(targetFilePath, 'utf8')).toBe(text);
    expect(ledger.get(inj.id)?.inject.target).toBe(targetFilePath);
    // the suite's own state has it, beside the ledger; a later reader lays it over the file's pid
    const state = new PidState(pidStatePathFor(ledger.path));
    expect(state.live(targetFilePath)).toEqual({ 'node-a': applied.newPid });
    const t = { dbmanNodes: [comp(n)], chatInstances: [] } as unknown as TargetFile;
    expect(withRecordedPids(t, state.live(targetFilePath)).dbmanNodes[0]!.faults.pid).toBe(applied.newPid);
    await nemesis.heal(inj.id);
    // a process that is gone is not laid over the file's pid
    process.kill(applied.newPid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(state.live(targetFilePath)).toEqual({});
  });

  it('restart replaces the process and the node answers again', async () => {
    const { nemesis } = setup();
    const n = await startHttpNode();
    const inj = await nemesis.inject(step('restart'), comp(n));
    const body = (await (await fetch(n.url)).json()) as { pid: number };
    restarted.push(body.pid);
    expect(body.pid).not.toBe(n.pid);
    expect((await nemesis.heal(inj.id)).outcome.detail).toMatch(/already answers|still runs/);
  });

  it('the inject line is on disk before the fault is applied, the applied line carries the real time', async () => {
    const { nemesis, ledger } = setup();
    const n = await startHttpNode();
    const before = Date.now();
    const inj = await nemesis.inject(step('pause'), comp(n));
    const lines = ledger.lines().filter((l) => l.id === inj.id);
    expect(lines.map((l) => l.type)).toEqual(['inject', 'applied']);
    expect(lines[0]!.at).toBeGreaterThanOrEqual(before);
    expect(lines[1]!.at).toBeGreaterThanOrEqual(lines[0]!.at);
    const handle = (lines[0] as { handle: { cmdline: string[]; env: Record<string, string> } }).handle;
    expect(handle.cmdline.at(-1)).toBe(join(FIXTURES, 'http-node.mjs'));
    expect(handle.env.PORT).toBe(String(n.port));
    await nemesis.healAll();
  });

  it('a fault without a pid is refused with a clear message and nothing is written', async () => {
    const { nemesis, ledger } = setup();
    await expect(nemesis.inject(step('pause'), { name: 'node-a', url: 'http://127.0.0.1:1', faults: {} })).rejects.toThrow(
      /no driver reaches it .*process/,
    );
    expect(ledger.lines()).toEqual([]);
  });
});

describe('chaos CLI after a drill died mid-fault', () => {
  it('SIGKILL of the injecting process leaves the node paused; chaos status shows it, chaos heal resumes it', async () => {
    const { dir } = setup();
    const ledgerPath = join(dir, 'ledger.jsonl');
    const n = await startHttpNode();
    const drill = spawn(
      process.execPath,
      ['--import', 'tsx', join(FIXTURES, 'pause-and-hang.ts'), ledgerPath, 'pause', 'node-a', n.url, String(n.pid)],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    track(drill.pid!);
    await new Promise<void>((resolve, reject) => {
      drill.stdout!.on('data', (b: Buffer) => b.toString().includes('injected') && resolve());
      drill.once('exit', (c) => reject(new Error(`drill stand-in exited ${c}`)));
    });
    drill.kill('SIGKILL');
    await new Promise((r) => drill.once('exit', r));
    expect(procState(n.pid)).toBe('T');
    expect(await probe(n.url, 500)).toBe('timeout');

    const cli = (cmd: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', cmd, '--ledger', ledgerPath], { cwd: REPO, encoding: 'utf8' });
    const status = cli('status');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/pause on node-a via process since .* \(run killed-drill, pid \d+, gone\): processes \d+:T/);

    const heal = cli('heal');
    expect(heal.status, heal.stderr).toBe(0);
    expect(heal.stdout).toMatch(/healed pause on node-a: SIGCONT/);
    expect(procState(n.pid)).not.toBe('T');
    expect(await probe(n.url)).toBe('ok');
    expect(cli('status').stdout).toMatch(/nothing injected/);
    expect(cli('heal').stdout).toMatch(/nothing to heal/);
  });

  it('bad usage exits 2 with one line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', 'inject', '--fault', 'melt', '--node', 'dbman-1'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--fault: .*stop.*kill/);
  });
});
