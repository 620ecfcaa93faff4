/**
 * The fault ledger with several writers: processes appending at once lose no line and tear none; a torn line (a
 * writer killed mid-write) is skipped and a whole line glued after it still read; `activeOn` finds the faults on
 * one node of one deployment (name and URL) and `ownerAlive` tells whether their drill still runs.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, ownerAlive, selfAsOwner, type LedgerLine } from '../../chaos/ledger.js';
import { FIXTURES, REPO, tempDir } from './helpers.js';

const inject = (id: string, over: Partial<Extract<LedgerLine, { type: 'inject' }>> = {}): LedgerLine => ({
  type: 'inject', id, at: Date.now(), fault: 'pause', node: 'dbman-1', driver: 'docker', handle: { node: over.node ?? 'dbman-1', container: 'c', id: 'x' }, ...over,
});

describe('ledger', () => {
  it('4 processes appending 250 lines of ~6 KB each at once: all 1,000 lines whole, none lost', async () => {
    const path = join(tempDir('ledger-'), 'ledger.jsonl');
    const writers = ['a', 'b', 'c', 'd'].map(
      (tag) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, 'ledger-writer.ts'), path, tag, '250'], { cwd: REPO, stdio: 'inherit' });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(writers)).toEqual([0, 0, 0, 0]);
    const physical = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(physical.length).toBe(1000);
    for (const l of physical) expect(() => JSON.parse(l)).not.toThrow();
    const ids = new Ledger(path).lines().map((l) => l.id);
    expect(new Set(ids).size).toBe(1000);
    for (const tag of ['a', 'b', 'c', 'd']) expect(ids.filter((id) => id.startsWith(`${tag}-`)).length).toBe(250);
  }, 60_000);

  it('a torn line is skipped; a whole line glued after it is read; a torn last line is skipped', () => {
    const path = join(tempDir('ledger-'), 'ledger.jsonl');
    const ledger = new Ledger(path);
    ledger.append(inject('first'));
    appendFileSync(path, JSON.stringify(inject('torn')).slice(0, 40)); // a writer died mid-line: no newline
    ledger.append(inject('glued'));
    appendFileSync(path, JSON.stringify(inject('torn-last')).slice(0, 55));
    expect(ledger.lines().map((l) => l.id)).toEqual(['first', 'glued']);
    expect(ledger.active().map((f) => f.inject.id)).toEqual(['first', 'glued']);
  });

  it('activeOn: the unhealed faults on one node of one deployment, with whether their owner still runs', async () => {
    const ledger = new Ledger(join(tempDir('ledger-'), 'ledger.jsonl'));
    const url = 'http://127.0.0.1:7001';
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.on('exit', r));
    ledger.append(inject('mine', { nodeUrl: url, owner: selfAsOwner('/tmp/t.json') }));
    ledger.append(inject('dead-drill', { nodeUrl: url, owner: { pid: gone.pid! } }));
    ledger.append(inject('reused-pid', { nodeUrl: url, owner: { pid: process.pid, startTime: 1 } }));
    ledger.append(inject('other-stack', { nodeUrl: 'http://127.0.0.1:7999', owner: selfAsOwner() }));
    ledger.append(inject('other-node', { node: 'dbman-2', nodeUrl: 'http://127.0.0.1:7002', owner: selfAsOwner() }));
    ledger.append(inject('healed', { nodeUrl: url, owner: selfAsOwner() }));
    ledger.append({ type: 'healed', id: 'healed', at: Date.now() });
    const on = ledger.activeOn({ name: 'dbman-1', url });
    expect(on.map((f) => f.inject.id)).toEqual(['mine', 'dead-drill', 'reused-pid']);
    expect(on.map(ownerAlive)).toEqual([true, false, false]);
    expect(on[0]!.inject.owner!.targetFile).toBe('/tmp/t.json');
    expect(ownerAlive(ledger.get('other-node')!)).toBe(true);
  });
});
