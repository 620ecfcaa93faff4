/**
 * The edge of `npm run load -- prepare | <part> | merge | k8s`: the rooms file ties the parts of a split run to
 * one prepared hot room (HOT_ROOM for k6), and merge needs a target for the integrity check unless told
 * --skip-integrity. Every bad input is one UsageError naming the setting (exit 2, nothing sent).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMergeConfig, parsePartConfig, parsePrepareConfig, partK6Env, UsageError } from '../../split/config.js';
import { parseConfig } from '../../lib/config.js';
import { localSegments } from '../../split/segments.js';

const TARGET_ENV = { CHAT_URL: 'http://127.0.0.1:1', AUTH_URL: 'http://127.0.0.1:1', WS_URL: 'ws://127.0.0.1:1/ws', TENANT_ID: 't', LOGIN_EMAIL: 'a', LOGIN_PASSWORD: 'b' };
const dir = mkdtempSync(join(tmpdir(), 'load-config-'));
function roomsFile(over: Record<string, unknown> = {}): string {
  const path = join(dir, `rooms-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ version: 1, runId: 'w1', profile: 'stage3', chatUrl: 'http://127.0.0.1:1', tenantId: 't', hotRoom: 'room-7', createdAt: new Date().toISOString(), ...over }));
  return path;
}
function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return e as UsageError;
  }
  throw new Error('no UsageError');
}

describe('load configuration', () => {
  it('a split part takes the prepared hot room to k6 as HOT_ROOM (and the run id from the rooms file)', () => {
    const part = parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--rooms', roomsFile()], TARGET_ENV);
    expect(part.runId).toBe('w1');
    const env = partK6Env(part, part.runId!);
    expect(env.HOT_ROOM).toBe('room-7');
    expect(parseConfig(env).hotRoom).toBe('room-7');
    expect(parseConfig(TARGET_ENV).hotRoom).toBeUndefined();
  });

  it('refuses a split part without a rooms file, or with another run\'s, profile\'s or target\'s', () => {
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '2/3'], TARGET_ENV)).message).toMatch(/^--rooms: missing/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--run-id', 'w2', '--rooms', roomsFile()], TARGET_ENV)).message).toMatch(/^--rooms: .* run id w1, this part has w2/);
    expect(usage(() => parsePartConfig(['--profile', 'stage2', '--segment', '2/3', '--rooms', roomsFile()], TARGET_ENV)).message).toMatch(/profile stage3/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--rooms', roomsFile({ chatUrl: 'http://127.0.0.2:1' })], TARGET_ENV)).message).toMatch(/chat URL/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--rooms', roomsFile({ version: 2 })], TARGET_ENV)).message).toMatch(/^--rooms: .*not a rooms file/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--rooms', join(dir, 'none.json')], TARGET_ENV)).message).toMatch(/^--rooms: cannot read/);
    expect(() => parseConfig({ ...TARGET_ENV, HOT_ROOM: 'a b' })).toThrow(/^HOT_ROOM: a room id/);
  });

  it('prepare needs a run id and a given target within loopback unless --allow-remote', () => {
    const ok = parsePrepareConfig(['--profile', 'stage3', '--run-id', 'w1'], TARGET_ENV);
    expect(ok.out).toMatch(/reports\/w1\/rooms\.json$/);
    expect(usage(() => parsePrepareConfig(['--profile', 'stage3'], TARGET_ENV)).setting).toBe('--run-id');
    expect(usage(() => parsePrepareConfig(['--profile', 'stage3', '--run-id', 'w1'], {})).message).toMatch(/^--target: missing/);
    expect(usage(() => parsePrepareConfig(['--profile', 'stage3', '--run-id', 'w1'], { ...TARGET_ENV, CHAT_URL: 'http://192.0.2.1:80' })).message).toMatch(/outside loopback/);
  });

  it('merge runs the integrity check against a target, or says --skip-integrity; never silently without', () => {
    const withTarget = parseMergeConfig(['reports/w1'], { ...TARGET_ENV, INTEGRITY_UNDELIVERED_LIMIT: '3' });
    expect(withTarget.dirs).toEqual(['reports/w1']);
    expect(withTarget.integrity).not.toBe('skip');
    if (withTarget.integrity !== 'skip') expect(withTarget.integrity.options.undeliveredLimit).toBe(3);
    expect(parseMergeConfig(['a', 'b', '--skip-integrity', '--out', 'o'], {})).toEqual({ cmd: 'merge', dirs: ['a', 'b'], out: 'o', integrity: 'skip', allowRemote: false });
    expect(usage(() => parseMergeConfig(['reports/w1'], {})).message).toMatch(/^--target: missing; .*--skip-integrity/);
    expect(usage(() => parseMergeConfig(['reports/w1', '--skip-integrity'], TARGET_ENV)).setting).toBe('--skip-integrity');
    expect(usage(() => parseMergeConfig(['reports/w1'], { ...TARGET_ENV, CHAT_URL: 'http://192.0.2.1:80' })).message).toMatch(/outside loopback/);
    expect(usage(() => parseMergeConfig(['reports/w1'], { ...TARGET_ENV, INTEGRITY_SPAN_MS: '-1' })).setting).toBe('INTEGRITY_SPAN_MS');
    expect(usage(() => parseMergeConfig([], TARGET_ENV)).message).toMatch(/^merge: no directories/);
    expect(usage(() => parseMergeConfig(['x', '--bogus'], TARGET_ENV)).setting).toBe('--bogus');
  });

  it('--local-parts k: runner i of n runs parts (i-1)k+1..ik of n*k; a rooms file is needed as soon as there are 2 parts', () => {
    const part = parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--local-parts', '4', '--rooms', roomsFile()], TARGET_ENV);
    expect(part.localParts).toBe(4);
    expect(localSegments(part.segment, part.localParts)).toEqual([5, 6, 7, 8].map((index) => ({ index, count: 12 })));
    expect(parsePartConfig(['--profile', 'stage3', '--segment', '2/3', '--rooms', roomsFile()], TARGET_ENV).localParts).toBe(1);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/1', '--local-parts', '3'], TARGET_ENV)).message).toMatch(/^--rooms: missing/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/1', '--local-parts', '0'], TARGET_ENV)).message).toMatch(/^--local-parts: "0" is not allowed; allowed: an integer 1-256/);
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/1', '--local-parts', 'two'], TARGET_ENV)).setting).toBe('--local-parts');
    expect(usage(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/500', '--local-parts', '3', '--rooms', roomsFile()], TARGET_ENV)).message).toMatch(/^--local-parts: 3 x 500 runners = 1500 parts; allowed: at most 1000/);
  });
});
