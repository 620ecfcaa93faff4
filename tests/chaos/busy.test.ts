/**
 * The drill's edge check: a node another run is faulting (same name and URL) refuses the drill, naming who: by the
 * ledger's active faults, and by node claims (taken with O_EXCL when a drill starts: of two drills started at
 * once, one gets the node; a claim of a killed drill is taken over).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busyNodeError, claimedNodeError, type ActiveFault } from '../../chaos/drill/busy.js';
import { claimNodes, liveClaims } from '../../chaos/drill/claims.js';
import { FIXTURES, REPO, tempDir } from './helpers.js';
import type { LedgerFault } from '../../chaos/ledger.js';
import { TargetFile } from '../../runner/target-file.js';

const target = TargetFile.parse({
  version: 1,
  name: 't',
  chatUrl: 'http://127.0.0.1:2001',
  authUrl: 'http://127.0.0.1:2002',
  wsUrl: 'ws://127.0.0.1:2001/ws',
  tenantId: 't',
  login: { email: 'a@b.c', password: 'x' },
  dbmanNodes: [1, 2].map((i) => ({ name: `dbman-${i}`, url: `http://127.0.0.1:300${i}`, faults: { pid: 100 + i } })),
  chatInstances: [{ name: 'chat-1', url: 'http://127.0.0.1:2001', faults: { pid: 200 } }],
});
const fault = (node: string, url: string, runId = 'run-a'): LedgerFault => ({
  inject: { type: 'inject', id: `f-${node}`, at: Date.UTC(2026, 11, 2, 10), runId, fault: 'pause', node, driver: 'process', handle: {}, nodeUrl: url, owner: { pid: 4242 } },
  injectedAt: 0,
  applied: true,
  healErrors: [],
});
const ledgerOf = (faults: ActiveFault[]) => (n: { name: string; url: string }) => faults.filter((f) => f.fault.inject.node === n.name && f.fault.inject.nodeUrl === n.url);
const spec = (...nodes: string[]) => ({ faults: nodes.map((node, i) => ({ fault: 'pause' as const, node, at: i * 10, for: 5 })) });

describe('busyNodeError', () => {
  it('refuses a node a running drill faults, naming the fault, its run and pid', () => {
    const active = ledgerOf([{ fault: fault('dbman-1', 'http://127.0.0.1:3001'), ownerAlive: true }]);
    expect(busyNodeError(spec('dbman-1'), target, active)).toBe(
      '--node: dbman-1 is being faulted by another drill: pause since 2026-12-02T10:00:00.000Z (run run-a, pid 4242); allowed: a node no running drill faults (npm run chaos -- status)',
    );
    expect(busyNodeError(spec('dbman-2', 'dbman-1'), target, active)).toMatch(/^faults\.1\.node: dbman-1 is being faulted/);
  });
  it('refuses a node left faulted by a drill that is gone, pointing at chaos heal', () => {
    const active = ledgerOf([{ fault: fault('dbman-1', 'http://127.0.0.1:3001'), ownerAlive: false }]);
    expect(busyNodeError(spec('dbman-1'), target, active)).toMatch(/^--node: dbman-1 still has a fault its drill never healed: .*that drill is gone; heal it first: npm run chaos -- heal$/);
  });
  it('lets a drill on another node, or on the same name in another deployment, through', () => {
    const active = ledgerOf([
      { fault: fault('dbman-1', 'http://127.0.0.1:3001'), ownerAlive: true },
      { fault: fault('dbman-2', 'http://127.0.0.1:9999'), ownerAlive: true }, // another stack's dbman-2
    ]);
    expect(busyNodeError(spec('dbman-2', 'chat-1'), target, active)).toBeUndefined();
    expect(busyNodeError(spec('nope'), target, active)).toBeUndefined();
  });
});

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A process that claims the node and holds it; resolves with its first line (`claimed` or `busy <pid>`). */
function claimer(dir: string, name: string, url: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, 'claim-node.ts'), dir, name, url], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, line })));
}

describe('node claims', () => {
  const url = 'http://127.0.0.1:3001';
  it('two drills claiming one node at the same instant: exactly one gets it; the other is refused naming it', async () => {
    const dir = tempDir('claims-');
    const both = await Promise.all([claimer(dir, 'dbman-1', url), claimer(dir, 'dbman-1', url)]);
    const lines = both.map((b) => b.line).sort().reverse();
    expect(lines[0]).toBe('claimed');
    expect(lines[1]).toMatch(/^busy \d+$/);
    const holder = both.find((b) => b.line === 'claimed')!.child;
    expect(lines[1]).toBe(`busy ${holder.pid}`);
    // this process is refused too, with a line for the user
    const r = claimNodes(dir, [{ name: 'dbman-1', url }], 'x');
    expect('busy' in r).toBe(true);
    if ('busy' in r) expect(claimedNodeError(spec('dbman-1'), r)).toMatch(new RegExp(`^--node: dbman-1 is being faulted by another drill: pause on dbman-1 \\(test\\) \\(pid ${holder.pid}, started .*\\); allowed: a node no running drill faults`));
    // another node, or the same name in another deployment, is free
    const other = claimNodes(dir, [{ name: 'dbman-2', url: 'http://127.0.0.1:3002' }, { name: 'dbman-1', url: 'http://127.0.0.1:9001' }], 'y');
    expect('release' in other).toBe(true);
    expect(liveClaims(dir).map((c) => c.pid).sort()).toEqual([holder.pid!, process.pid, process.pid].sort());
    if ('release' in other) other.release();
    expect(liveClaims(dir).map((c) => c.pid)).toEqual([holder.pid]);
    // the holder is killed (-9): its claim is stale and taken over
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
    const after = claimNodes(dir, [{ name: 'dbman-1', url }], 'z');
    expect('release' in after).toBe(true);
    if ('release' in after) after.release();
    expect(liveClaims(dir)).toEqual([]);
  }, 30_000);
});
