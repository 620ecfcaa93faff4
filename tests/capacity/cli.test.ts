/**
 * `npm run bench` bad input: one line naming the option and what is allowed, exit 2, before anything starts (no
 * progress line, no results file). Also --help.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, UsageError } from '../../capacity/config.js';
import { repoRoot } from '../../runner/paths.js';

const TSX = join(repoRoot, 'node_modules/tsx/dist/cli.mjs');
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TSX, 'capacity/cli.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run bench: options', () => {
  it('parses the defaults and every option', () => {
    const d = parseBenchArgs([], '/w');
    expect(d).toEqual({ help: false, options: { durationS: 20, maxSockets: 16_000, out: '/w/bench/results.json', parts: { rest: true, sockets: true } } });
    const o = parseBenchArgs(['--duration', '1m', '--max-sockets', '4000', '--out', 'x.json', '--only', 'rest'], '/w');
    expect(o).toEqual({ help: false, options: { durationS: 60, maxSockets: 4000, out: '/w/x.json', parts: { rest: true, sockets: false } } });
    expect(parseBenchArgs(['--only', 'sockets'], '/w')).toMatchObject({ options: { parts: { rest: false, sockets: true } } });
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
  });

  it.each([
    [['--duration', 'abc'], '--duration', /^bench: --duration: a duration from 2s to 120s .*; got "abc"$/],
    [['--duration', '1s'], '--duration', /--duration: .*got "1s"/],
    [['--duration', '3m'], '--duration', /--duration: .*got "3m"/],
    [['--max-sockets', '10'], '--max-sockets', /^bench: --max-sockets: a whole number from 50 to 200000; got "10"$/],
    [['--max-sockets', '1e4'], '--max-sockets', /--max-sockets: .*got "1e4"/],
    [['--max-sockets', '300000'], '--max-sockets', /--max-sockets: .*got "300000"/],
    [['--only', 'ws'], '--only', /^bench: --only: rest or sockets; got "ws"$/],
    [['--out', ''], '--out', /^bench: --out: needs a value <file>, got an empty one$/],
    [['--fast'], '--fast', /^bench: --fast: unknown option; allowed: --duration, --max-sockets, --out, --only, --help$/],
    [['--durtion', '5s'], '--durtion', /^bench: --durtion: unknown option \(did you mean --duration\?\); allowed: /],
    [['extra'], 'extra', /^bench: extra: unexpected argument; allowed: /],
  ])('%j: exit 2, one line naming the option, nothing started', (args, setting, line) => {
    expect(() => parseBenchArgs(args)).toThrow(UsageError);
    try {
      parseBenchArgs(args);
    } catch (err) {
      expect((err as UsageError).setting).toBe(setting);
    }
    const out = join(dir, 'results.json');
    const r = bench([...args, ...(args.includes('--out') ? [] : ['--out', out])]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('--help prints the usage and exits 0', () => {
    const r = bench(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench/);
    expect(r.stdout).toMatch(/--max-sockets/);
  });
});
