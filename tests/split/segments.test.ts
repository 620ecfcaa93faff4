import { describe, expect, it } from 'vitest';
import { k6Scenarios, resolveProfile, PROFILE_NAMES } from '../../lib/profiles.js';
import { executionSegment, localSegments, parseSegment, segmentArgs, segmentSequence, segmentShareInt, segmentShareRate } from '../../split/segments.js';
import { parsePartConfig, UsageError } from '../../split/config.js';

const TARGET_ENV = { CHAT_URL: 'http://127.0.0.1:1', AUTH_URL: 'http://127.0.0.1:1', WS_URL: 'ws://127.0.0.1:1/ws', TENANT_ID: 't', LOGIN_EMAIL: 'a', LOGIN_PASSWORD: 'b' };

describe('execution segments', () => {
  it('parses i/n and builds the same sequence for every part', () => {
    expect(parseSegment('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '1/0', 'x', '1/3/4', '-1/3']) expect(parseSegment(bad)).toBeUndefined();
    expect(segmentSequence(3)).toBe('0,1/3,2/3,1');
    expect([1, 2, 3].map((index) => executionSegment({ index, count: 3 }))).toEqual(['0:1/3', '1/3:2/3', '2/3:1']);
    expect(segmentArgs({ index: 1, count: 1 })).toEqual([]);
    expect(segmentArgs({ index: 2, count: 4 })).toEqual(['--execution-segment', '1/4:2/4', '--execution-segment-sequence', '0,1/4,2/4,3/4,1']);
  });

  it('n runners of k local parts each are the parts 1..n*k, each once', () => {
    for (const [n, k] of [[1, 3], [3, 4], [7, 1]] as const) {
      const all = Array.from({ length: n }, (_, i) => localSegments({ index: i + 1, count: n }, k)).flat();
      expect(all.map((s) => s.index)).toEqual(Array.from({ length: n * k }, (_, j) => j + 1));
      expect(new Set(all.map((s) => s.count))).toEqual(new Set([n * k]));
    }
  });

  it('parts cover every profile exactly: VUs and rates per stage sum to the whole, positions never overlap', () => {
    for (const name of PROFILE_NAMES) {
      for (const n of [1, 2, 3, 7, 16]) {
        const scenarios = k6Scenarios(resolveProfile(name));
        for (const sc of Object.values(scenarios)) {
          const ints: number[] = [];
          const rates: number[] = [];
          for (const k of ['vus', 'preAllocatedVUs', 'maxVUs', 'startVUs']) if (typeof sc[k] === 'number') ints.push(sc[k] as number);
          const stages = (sc.stages as { target: number }[] | undefined) ?? [];
          const isRate = String(sc.executor).includes('arrival-rate');
          for (const s of stages) (isRate ? rates : ints).push(s.target);
          if (typeof sc.rate === 'number') rates.push(sc.rate);
          if (typeof sc.startRate === 'number') rates.push(sc.startRate);
          for (const v of ints) {
            const shares = Array.from({ length: n }, (_, i) => segmentShareInt(v, { index: i + 1, count: n }));
            expect(shares.reduce((a, b) => a + b, 0)).toBe(v);
            expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
            // positions 0..v-1 striped: part i owns positions ≡ i-1 (mod n); disjoint and complete
            const owners = Array.from({ length: v }, (_, pos) => (pos % n) + 1);
            for (let i = 1; i <= n; i++) expect(owners.filter((o) => o === i).length).toBe(shares[i - 1]);
          }
          for (const r of rates) {
            const total = Array.from({ length: n }, (_, i) => segmentShareRate(r, { index: i + 1, count: n })).reduce((a, b) => a + b, 0);
            expect(total).toBeCloseTo(r, 9);
          }
        }
      }
    }
  });

  it('a bad part configuration is one UsageError naming the setting, before anything starts', () => {
    const cases: [string[], string][] = [
      [['--profile', 'nope', '--segment', '1/3'], '--profile'],
      [['--profile', 'stage3'], '--segment'],
      [['--profile', 'stage3', '--segment', '3/2'], '--segment'],
      [['--profile', 'stage3', '--segment', '1/2', '--run-id', 'a b'], '--run-id'],
      [['--profile', 'stage3', '--segment', '1/2', '--scale', '0'], '--scale'],
      [['--profile', 'stage3', '--segment', '1/2', '--bogus'], '--bogus'],
    ];
    for (const [argv, setting] of cases) {
      const err = (() => { try { parsePartConfig(argv, TARGET_ENV); } catch (e) { return e; } })();
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((err as UsageError).message.startsWith(setting)).toBe(true);
      expect((err as UsageError).message).not.toContain('\n');
    }
    expect(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/2'], {})).toThrow(/--target: missing/);
    expect(() => parsePartConfig(['--profile', 'stage3', '--segment', '1/2'], { ...TARGET_ENV, CHAT_URL: 'http://192.0.2.1:80' })).toThrow(/outside loopback/);
    const ok = parsePartConfig(['--profile', 'stage3', '--segment', '1/1', '--scale', '0.01'], TARGET_ENV);
    expect(ok.segment).toEqual({ index: 1, count: 1 });
  });
});
