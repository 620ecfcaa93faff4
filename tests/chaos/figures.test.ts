// Failover figures over generated series: each case builds a second-by-second load shape around a known inject
// and heal time and checks the figures that shape must give (and that a healthier or sicker shape changes them).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bucketize, failoverFigures, percentile, readSeries, type RequestSample } from '../../chaos/figures.js';

const T0 = Date.parse('2026-11-23T15:00:00.000Z');
const SLO = { errorRate: 0.01, p95Ms: 300 };

/** One second's shape: requests, how many fail, latency of the good ones and of the failed ones. */
interface Shape {
  n?: number;
  fail?: number;
  ms?: number;
  failMs?: number;
}

/** Builds samples for seconds 0..shapes.length-1 after T0; `phase` from the given windows. */
function generate(shapes: Shape[], fault: [number, number]): RequestSample[] {
  const out: RequestSample[] = [];
  shapes.forEach((sh, s) => {
    const n = sh.n ?? 20;
    const phase = s < fault[0] ? 'baseline' : s < fault[1] ? 'fault' : 'recovery';
    for (let i = 0; i < n; i++) {
      const at = T0 + s * 1000 + Math.floor(((i + 0.5) * 1000) / n);
      const failed = i < (sh.fail ?? 0);
      const durationMs = failed ? (sh.failMs ?? 5000) : (sh.ms ?? 50);
      out.push({ at, failed, phase }, { at, durationMs, phase });
    }
  });
  return out;
}

const healthy = (k: number): Shape[] => Array.from({ length: k }, () => ({}));

describe('percentile', () => {
  it('is nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBeNull();
  });
});

describe('bucketize', () => {
  it('fills seconds without completed requests and computes per-phase stats', () => {
    const shapes: Shape[] = [{}, { n: 0 }, { n: 10, fail: 5 }];
    const s = bucketize(generate(shapes, [1, 2]));
    expect(s.buckets.map((b) => [b.requests, b.failed])).toEqual([
      [20, 0],
      [0, 0],
      [10, 5],
    ]);
    expect(s.phases.baseline).toMatchObject({ requests: 20, failed: 0, errorRate: 0, p95Ms: 50 });
    expect(s.phases.recovery).toMatchObject({ requests: 10, failed: 5, errorRate: 0.5, p95Ms: 5000, p99Ms: 5000 });
    expect(s.failures).toHaveLength(5);
  });
});

describe('failoverFigures', () => {
  // load 0..40 s; inject at 10.3 s, heal at 25.3 s
  const win = { fault: 'kill', node: 'dbman-1', injectAt: T0 + 10_300, healAt: T0 + 25_300, nodeReadyAt: T0 + 26_000 };

  it('a kill with a 3 s error burst: failover ~3.7 s, burst 3 s, failed counted, first error offset exact', () => {
    const shapes = healthy(40);
    shapes[10] = { fail: 4 }; // the first failures land in the inject second, after inject
    shapes[11] = { fail: 10 };
    shapes[12] = { fail: 6 };
    const series = bucketize(generate(shapes, [10, 25]));
    const f = failoverFigures(series, win, SLO, 5);
    expect(f.impactSeen).toBe(true);
    // inject at 10.3; seconds 10..12 bad; 13..17 good → failover at 13.0 - 10.3 = 2.7 s
    expect(f.failoverS).toBe(2.7);
    expect(f.relapseSeconds).toBe(0);
    expect(f.longestErrorBurst).toEqual({ seconds: 3, startOffsetS: 0, failed: 20 });
    // of second 10's four failures (at 10.025..10.175 s) none is after 10.3 s
    expect(f.failedDuringFault).toBe(16);
    expect(f.firstErrorOffsetS).toBe(0.725); // first failure of second 11: 11.025 - 10.3
    // heal at 25.3: SLO good from second 25 on, node ready at 26.0 → recovery 0.7 s
    expect(f.nodeReadyAfterHealS).toBe(0.7);
    expect(f.recoveryS).toBe(0.7);
  });

  it('no visible impact gives failover 0 and no burst', () => {
    const f = failoverFigures(bucketize(generate(healthy(40), [10, 25])), win, SLO, 5);
    expect(f).toMatchObject({ impactSeen: false, failoverS: 0, longestErrorBurst: null, failedDuringFault: 0, firstErrorOffsetS: null });
  });

  it('a freeze: a stall (no completions) then timeouts; slow seconds count as bad even without errors', () => {
    const shapes = healthy(40);
    shapes[11] = { n: 0 };
    shapes[12] = { n: 0 };
    shapes[13] = { n: 0 };
    shapes[14] = { n: 0 };
    shapes[15] = { n: 10, ms: 5050 }; // requests that waited a full dbman timeout, then succeeded elsewhere
    shapes[16] = { n: 20, ms: 40 };
    const f = failoverFigures(bucketize(generate(shapes, [10, 25])), win, SLO, 5);
    expect(f.impactSeen).toBe(true);
    expect(f.failoverS).toBe(5.7); // good from second 16
    expect(f.longestErrorBurst).toBeNull();
    expect(f.failedDuringFault).toBe(0);
  });

  it('never failing over within the fault (single endpoint): failover null, the burst spans the fault', () => {
    const shapes = healthy(40).map((s, i) => (i >= 10 && i < 26 ? { fail: i === 10 ? 8 : 20 } : s));
    const f = failoverFigures(bucketize(generate(shapes, [10, 25])), win, SLO, 5);
    expect(f.failoverS).toBeNull();
    expect(f.longestErrorBurst?.seconds).toBe(16);
    // second 10: 2 of 8 after 10.3 s; 11..24: 14 × 20; second 25: 6 before 25.3 s
    expect(f.failedDuringFault).toBe(2 + 14 * 20 + 6);
    // good again from 26 → recovery 26 - 25.3 = 0.7 s; node ready at 26.0 too
    expect(f.recoveryS).toBe(0.7);
  });

  it('relapses after a cooldown ends are counted, and the hold needs holdS good seconds in a row', () => {
    const shapes = healthy(40);
    shapes[10] = { fail: 10 };
    shapes[11] = { fail: 10 };
    shapes[15] = { fail: 3 }; // breaks a hold that started at 12
    shapes[21] = { fail: 3 }; // a relapse after failover
    const f = failoverFigures(bucketize(generate(shapes, [10, 25])), win, SLO, 5);
    expect(f.failoverS).toBe(5.7); // hold from 16 (16..20)
    expect(f.relapseSeconds).toBe(1);
    expect(f.longestErrorBurst).toMatchObject({ seconds: 2 });
    // with a hold of 3 s, 12..14 already counts
    expect(failoverFigures(bucketize(generate(shapes, [10, 25])), win, SLO, 3).failoverS).toBe(1.7);
  });

  it("the heal's own second counts toward the fault only when most of it lies before the heal", () => {
    const shapes = healthy(40);
    shapes[25] = { fail: 10 }; // the heal second is bad (a node starting again)
    const series = bucketize(generate(shapes, [10, 25]));
    // heal at 25.3 s: the second is mostly after the heal, so the fault never broke the SLO
    expect(failoverFigures(series, win, SLO, 3)).toMatchObject({ impactSeen: false, failoverS: 0, relapseSeconds: 0 });
    // heal at 25.7 s: the bad second is the fault's, and the SLO never held again before heal
    const late = failoverFigures(series, { ...win, healAt: T0 + 25_700 }, SLO, 3);
    expect(late).toMatchObject({ impactSeen: true, failoverS: null });
  });

  it('recovery waits for the healed node to be ready, and is null when it never is', () => {
    const shapes = healthy(40);
    const series = bucketize(generate(shapes, [10, 25]));
    expect(failoverFigures(series, { ...win, nodeReadyAt: T0 + 31_500 }, SLO, 5).recoveryS).toBe(6.2);
    expect(failoverFigures(series, { ...win, nodeReadyAt: null }, SLO, 5).recoveryS).toBeNull();
    // SLO not held after heal: seconds 25..40 fail
    const sick = healthy(40).map((s, i) => (i >= 25 ? { fail: 5 } : s));
    expect(failoverFigures(bucketize(generate(sick, [10, 25])), win, SLO, 5).recoveryS).toBeNull();
  });
});

describe('readSeries', () => {
  it('reads k6 NDJSON (gzipped) Points of http_req_duration and http_req_failed with their phase tags', async () => {
    const pts = generate([{}, { fail: 2 }], [1, 2]);
    const lines = [
      JSON.stringify({ type: 'Metric', data: { name: 'http_req_duration', type: 'trend' }, metric: 'http_req_duration' }),
      ...pts.map((p) =>
        JSON.stringify({
          metric: p.durationMs !== undefined ? 'http_req_duration' : 'http_req_failed',
          type: 'Point',
          data: { time: new Date(p.at).toISOString(), value: p.durationMs ?? (p.failed ? 1 : 0), tags: { phase: p.phase, name: 'x' } },
        }),
      ),
      JSON.stringify({ metric: 'vus', type: 'Point', data: { time: new Date(T0).toISOString(), value: 3, tags: {} } }),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'figures-')), 'k6-raw.json.gz');
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const s = await readSeries(file);
    expect(s.buckets.map((b) => [b.requests, b.failed, b.durations.length])).toEqual([
      [20, 0, 20],
      [20, 2, 20],
    ]);
    expect(s.phases.fault).toMatchObject({ requests: 20, failed: 2, errorRate: 0.1 });
  });
});
