/**
 * The bounded-memory merge's statistics (split/series-stats.ts) on synthetic latencies: the percentiles
 * of sketches built per part and merged equal the exact k6 percentiles of all samples within RELATIVE_ERROR;
 * counts, rates, avg, min, max are exact; no samples gives null. And why merging matters: averaging the parts'
 * percentiles misses the exact value by far more than the bound on a skewed split.
 */
import { describe, expect, it } from 'vitest';
import { RELATIVE_ERROR, SeriesStats } from '../../split/series-stats.js';
import { aggregate, percentile } from '../../runner/verdict.js';

/** Deterministic pseudo-random numbers (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal latencies in ms (median ~`medianMs`, long tail), with a few zeros and sub-millisecond values. */
function latencies(n: number, medianMs: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    if (i % 997 === 0) return 0;
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.round(medianMs * Math.exp(0.9 * z) * 1000) / 1000;
  });
}

function statsOf(values: readonly number[]): SeriesStats {
  const s = new SeriesStats();
  for (const v of values) s.add(v);
  return s;
}

const PCTS = [0, 1, 25, 50, 90, 95, 99, 99.9, 100];

describe('series stats', () => {
  it('merged-sketch percentiles equal the exact ones within the stated relative error; counts, avg, min, max exact', () => {
    // three parts of different sizes and latency levels (a skewed split)
    const parts = [latencies(60_000, 20, 1), latencies(25_000, 80, 2), latencies(15_000, 300, 3)];
    const all = parts.flat();
    const merged = parts.map(statsOf).reduce((a, b) => a.merge(b), new SeriesStats());
    expect(merged.count).toBe(all.length);
    for (const p of PCTS) {
      const exact = percentile(all, p)!;
      const got = merged.aggregate(`p(${p})`)!;
      expect(Math.abs(got - exact), `p(${p}): ${got} vs ${exact}`).toBeLessThanOrEqual(RELATIVE_ERROR * exact + 1e-9);
    }
    for (const agg of ['avg', 'min', 'max', 'count']) {
      expect(merged.aggregate(agg)!, agg).toBeCloseTo(aggregate(all, agg)!, 6);
    }
    expect(merged.aggregate('med')).toBe(merged.aggregate('p(50)'));
  });

  it('rates of 0/1 samples are exact; negative values have their own sketch; nothing sampled gives null', () => {
    const r = rng(7);
    const oks = Array.from({ length: 10_001 }, () => (r() < 0.999 ? 1 : 0));
    const a = statsOf(oks.slice(0, 4000));
    const b = statsOf(oks.slice(4000));
    expect(a.merge(b).aggregate('rate')).toBeCloseTo(aggregate(oks, 'rate')!, 12);

    const mixed = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? -1 : 1) * (1 + (i % 211)));
    const m = statsOf(mixed.slice(0, 2500)).merge(statsOf(mixed.slice(2500)));
    for (const p of [5, 30, 50, 80, 99]) {
      const exact = percentile(mixed, p)!;
      expect(Math.abs(m.percentile(p)! - exact), `p(${p})`).toBeLessThanOrEqual(RELATIVE_ERROR * Math.abs(exact) + 1e-9);
    }
    const empty = new SeriesStats().merge(new SeriesStats());
    expect(empty.count).toBe(0);
    expect(empty.aggregate('p(95)')).toBeNull();
    expect(empty.aggregate('rate')).toBeNull();
  });

  it('averaging the parts\' p(95) instead (what the merge never does) misses the exact value by far more than the bound', () => {
    const parts = [latencies(60_000, 20, 1), latencies(25_000, 80, 2), latencies(15_000, 300, 3)];
    const exact = percentile(parts.flat(), 95)!;
    const averaged = parts.map((p) => percentile(p, 95)!).reduce((a, b) => a + b, 0) / parts.length;
    expect(Math.abs(averaged - exact) / exact).toBeGreaterThan(10 * RELATIVE_ERROR);
  });
});

describe('mergedStats (the merge reading parts)', () => {
  it('reads every part once per (sub)metric, also for a metric with several thresholds, and merges exactly the counts', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { mergedStats } = await import('../../split/merge.js');
    const dir = await mkdtemp(join(tmpdir(), 'merged-stats-'));
    const point = (metric: string, value: number, tags: Record<string, string>) => JSON.stringify({ metric, type: 'Point', data: { time: '2026-11-30T22:00:00Z', value, tags } });
    const parts = [[5, 7, 9], [1, 100]].map((vs, i) => ({ path: join(dir, `p${i}.json`), vs }));
    for (const p of parts) await writeFile(p.path, p.vs.map((v, k) => point('lat', v, { endpoint: k % 2 ? 'a' : 'b' })).join('\n') + '\n');
    const stats = await mergedStats(['lat', 'lat', 'lat{endpoint:a}'], parts.map((p) => p.path));
    expect(stats.get('lat')!.count).toBe(5);
    expect(stats.get('lat')!.aggregate('count')).toBe(122);
    expect(stats.get('lat')!.aggregate('max')).toBe(100);
    expect(stats.get('lat{endpoint:a}')!.count).toBe(2); // 7 and 100
    await rm(dir, { recursive: true, force: true });
  });
});
