/**
 * The ledger against damaged and hostile files: invalid lines are reported (status and heal exit 1, never
 * "nothing to heal"), a handle of the wrong shape never reaches a driver, a ledger others may write is not acted
 * on, a torn last line is tolerated, and concurrent writers leave only whole lines. About 6 s (four CLI runs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger, type LedgerLine } from '../../chaos/ledger.js';
import { REPO, tempDir } from './helpers.js';

const dir = tempDir('ledger-test-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `l${++n}.jsonl`);

/** A process-driver inject line whose heal would start `cmdline` (the hostile case when someone else wrote it). */
function processInject(id: string, over: Record<string, unknown> = {}, handleOver: Record<string, unknown> = {}): LedgerLine {
  return {
    type: 'inject', id, at: Date.now(), fault: 'kill', node: 'dbman-1', driver: 'process',
    handle: {
      node: 'dbman-1', url: 'http://127.0.0.1:1', root: { pid: 999_999, startTime: 1 }, tree: [{ pid: 999_999, startTime: 1 }],
      cmdline: ['sh', '-c', `touch ${join(dir, `pwned-${id}`)}`], env: {}, cwd: '/', logDir: join(dir, 'logs'), exitWaitMs: 1000,
      ...handleOver,
    },
    ...over,
  } as LedgerLine;
}

const chaos = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });

describe('the ledger file', () => {
  it('is created readable by its owner only, and stays so', () => {
    const l = new Ledger(fresh());
    l.append(processInject('a'));
    expect(statSync(l.path).mode & 0o777).toBe(0o600);
    chmodSync(l.path, 0o644);
    l.append({ type: 'applied', id: 'a', at: Date.now() });
    expect(statSync(l.path).mode & 0o777).toBe(0o600);
    expect(l.problems()).toEqual([]);
  });

  it.each([
    ['not JSON', 'garbage{{', /line 2: not JSON/],
    ['unknown type', '{"type":"explode","id":"x","at":1}', /line 2: not a ledger line: type/],
    ['handle of the wrong shape', JSON.stringify({ type: 'inject', id: 'w', at: 1, fault: 'latency', node: 'dbman-1', driver: 'toxiproxy', handle: { node: 'dbman-1', apiUrl: 'http://127.0.0.1:1' } }), /line 2: inject w: handle of the toxiproxy driver: proxy/],
    ['fault its driver does not take', JSON.stringify(processInject('k', { fault: 'partition' })), /line 2: inject k: driver process does not take fault partition/],
    ['command recorded for another node', JSON.stringify(processInject('o', {}, { node: 'orghub' })), /line 2: inject o: handle is for node orghub, the line for node dbman-1/],
    ['relative working folder', JSON.stringify(processInject('c', {}, { cwd: 'x' })), /line 2: inject c: handle of the process driver: cwd: an absolute folder/],
  ])('reports a line that is %s', (_what, text, problem) => {
    const l = new Ledger(fresh());
    l.append(processInject('ok'));
    appendFileSync(l.path, `${text}\n`);
    l.append({ type: 'applied', id: 'ok', at: Date.now() });
    const r = l.read();
    expect(r.problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')).toMatch(problem);
    expect(r.lines.map((x) => x.type)).toEqual(['inject', 'applied']);
    expect(l.active().map((f) => f.inject.id)).toEqual(['ok']);
  });

  it('tolerates a torn last line, and starts the next append on a line of its own', () => {
    const l = new Ledger(fresh());
    l.append(processInject('t'));
    appendFileSync(l.path, '{"type":"applied","id":"t","a');
    expect(l.problems()).toEqual([]);
    l.append({ type: 'healed', id: 't', at: Date.now(), detail: 'x' });
    expect(l.problems()).toEqual([]);
    expect(l.lines().map((x) => x.type)).toEqual(['inject', 'healed']);
    expect(l.active()).toEqual([]);
    // what is not a ledger line's beginning is no torn line
    appendFileSync(l.path, '{"id":"t","a\n');
    expect(l.problems().map((p) => p.message)).toEqual(['not JSON']);
  });

  it('reports a file it cannot read, and one that others may write', () => {
    const asDir = fresh();
    mkdirSync(asDir);
    expect(new Ledger(asDir).problems()[0]!.message).toMatch(/^cannot read it: EISDIR/);
    const l = new Ledger(fresh());
    l.append(processInject('m'));
    chmodSync(l.path, 0o666);
    expect(l.problems()[0]!.message).toMatch(/^writable by other users \(mode 666\): not trusted/);
    expect(l.trusted()).toBe(false);
  });

  it('refuses a line longer than the limit before writing anything', () => {
    const l = new Ledger(fresh());
    expect(() => l.append(processInject('big', {}, { env: { X: 'x'.repeat(1024 * 1024) } }))).toThrow(/longer than/);
    expect(existsSync(l.path) ? readFileSync(l.path, 'utf8') : '').toBe('');
  });

  it('takes concurrent writers: every line whole', async () => {
    const path = fresh();
    const writer = `import { Ledger } from './chaos/ledger.ts';
      const l = new Ledger(${JSON.stringify(path)}); const w = process.argv[1];
      for (let i = 0; i < 150; i++) l.append({ type: 'heal-failed', id: w + '-' + i, at: Date.now(), error: 'e'.repeat(20000) });`;
    const codes = await Promise.all(
      ['a', 'b', 'c', 'd'].map((w) => new Promise<number | null>((resolve) => spawn(process.execPath, ['--import', 'tsx', '-e', writer, w], { cwd: REPO, stdio: 'inherit' }).on('exit', resolve))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const r = new Ledger(path).read();
    expect(r.problems).toEqual([]);
    expect(r.lines).toHaveLength(600);
  });
});

describe('chaos status and heal on a damaged ledger', () => {
  it('say so and exit 1, and still heal the valid faults; never "nothing to heal"', () => {
    const l = new Ledger(fresh());
    // a valid pause on a pid that is gone: heal has nothing left to resume, and says so
    l.append({ type: 'inject', id: 'p', at: Date.now(), fault: 'pause', node: 'dbman-1', driver: 'process', handle: { ...(processInject('p') as { handle: object }).handle } });
    appendFileSync(l.path, 'not json at all\n');
    const status = chaos(['status', '--ledger', l.path]);
    expect(status.status, status.stderr).toBe(1);
    expect(status.stderr).toMatch(/ledger .* line 2: not JSON/);
    expect(status.stdout).toMatch(/pause on dbman-1 via process/);
    const heal = chaos(['heal', '--ledger', l.path]);
    expect(heal.status).toBe(1);
    expect(heal.stderr).toMatch(/line 2: not JSON/);
    expect(heal.stdout).toMatch(/healed pause on dbman-1: nothing paused left/);
    expect(heal.stdout).not.toMatch(/nothing to heal/);
    const again = chaos(['heal', '--ledger', l.path]);
    expect(again.status).toBe(1);
    expect(again.stdout).toMatch(/healed nothing \(and 1 ledger problem\(s\): a fault may be hidden/);
  });

  it('a ledger others may write: heal runs none of its commands', () => {
    const l = new Ledger(fresh());
    l.append(processInject('h'));
    l.append({ type: 'applied', id: 'h', at: Date.now() });
    chmodSync(l.path, 0o666);
    const heal = chaos(['heal', '--ledger', l.path]);
    expect(heal.status).toBe(1);
    expect(heal.stderr).toMatch(/could not heal kill on dbman-1 \(h\): not healed: ledger .*: writable by other users/);
    expect(existsSync(join(dir, 'pwned-h'))).toBe(false);
  });

  it('only its owner may write: the same line in a 0600 ledger is healed (the command it recorded)', () => {
    const l = new Ledger(fresh());
    l.append(processInject('own', {}, { cmdline: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(join(dir, 'pwned-own'))}, '')`] }));
    writeFileSync(join(dir, 'dummy'), '');
    const heal = chaos(['heal', '--ledger', l.path]);
    // the recorded command ran (and exited at once: not a node, so the heal fails and says why)
    expect(heal.stderr).toMatch(/could not heal kill on dbman-1 \(own\): dbman-1: restarted process \d+ exited at once/);
    expect(existsSync(join(dir, 'pwned-own'))).toBe(true);
  });
});
