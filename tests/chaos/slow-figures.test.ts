// Slow-consumer figures from k6's raw output (< 1 s, a synthetic raw file): each slow subscriber's fate judged from
// its delivery digest against every hot-room message acknowledged while it was connected (the slow subscribers
// run on VUs of their own, which never see the publishers' acknowledgements), the load generator's lag per phase,
// and a failed latency figure taken during a generator stall marked unverified, never passed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slowConsumerFigures, unverifiedByLag, type SlowConsumerFigures } from '../../chaos/slow-figures.js';
import { DeliveryDigest } from '../../lib/delivery-digest.js';
import { thresholdMessage } from '../../runner/junit.js';
import { ThresholdResult } from '../../runner/summary.js';
import { formatSummary, verdictOf } from '../../runner/verdict.js';
import { breachedOf } from '../../chaos/drill/report.js';
import { tempDir } from './helpers.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const point = (metric: string, atMs: number, value: number, tags: Record<string, string>, metadata?: Record<string, string | number>) =>
  JSON.stringify({ metric, type: 'Point', data: { time: new Date(atMs).toISOString(), value, tags, ...(metadata ? { metadata } : {}) } });

/** Publisher stream `i:h:1:0:0`, seqs 0..9 acknowledged 2 s + seq × 100 ms after T0 (seq 7's store failed). */
function acks(): string[] {
  return Array.from({ length: 10 }, (_, q) =>
    point('message_store_success', T0 + 2000 + q * 100, q === 7 ? 0 : 1, { scenario: 'hot_room', transport: 'ws', phase: 'baseline' }, { marker: `k6m:run1:i:h:1:0:0:${q}`, outcome: q === 7 ? 'failed' : 'acked' }),
  );
}

function slowSession(label: string, seqs: number[], extra: Record<string, string | number> = {}): string {
  const d = new DeliveryDigest();
  for (const q of seqs) d.record('i:h:1:0:0', q);
  return point('ws_session_ok', T0 + 9000, 1, { scenario: 'hot_room_slow', phase: 'recovery' }, { socket: label, opened_ms: T0, closed_ms: T0 + 9000, gaps: '', digest: d.encode(), ...extra });
}

async function figures(lines: string[]): Promise<SlowConsumerFigures> {
  const path = join(tempDir('slow-fig-'), 'raw.json');
  writeFileSync(path, lines.join('\n') + '\n');
  return slowConsumerFigures(path, 0);
}

describe('slow subscribers fate from their digests', () => {
  it('caught-up needs every acknowledged message (a failed store is not owed); a hole is behind; a gap is dropped', async () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 8, 9];
    const f = await figures([
      ...acks(),
      slowSession('s0', all),
      slowSession('s1', all.filter((q) => q !== 4)),
      slowSession('s2', all, { gaps: `${T0 + 3000}-${T0 + 4000}` }),
      slowSession('s3', [], { opened_ms: 0 }),
      // a healthy VU's socket is not a slow subscriber
      point('ws_session_ok', T0 + 9000, 1, { scenario: 'hot_room', phase: 'recovery' }, { socket: 'h', opened_ms: T0, closed_ms: T0 + 9000, gaps: '', digest: new DeliveryDigest().encode() }),
    ]);
    expect(f.fates).toEqual({ 'caught-up': 1, behind: 1, dropped: 1, 'never-opened': 1 });
  });

  it('a message acknowledged before the slow socket opened (within the delivery margin) is not owed to it', async () => {
    const f = await figures([...acks(), slowSession('s0', [5, 6, 8, 9], { opened_ms: T0 + 1600 })]);
    expect(f.fates).toEqual({ 'caught-up': 1 });
  });
});

describe('generator lag', () => {
  const lag = (phase: string, scenario: string, v: number) => point('generator_lag', T0, v, { scenario, phase });
  const failed = (id: string, limit = 500): ThresholdResult => ({
    name: id, metric: 'm', baseMetric: 'm', tags: {}, expression: `p(95)<=${limit}`, aggregation: 'p(95)', operator: '<=', limit, observed: 2665, unit: 'ms', samples: 900, k6Ok: false, result: 'fail', id,
  });

  it('the longest stall per phase at the healthy VUs (the slow VUs reported apart)', async () => {
    const f = await figures([lag('recovery', 'hot_room', 3), lag('recovery', 'hot_room', 900), lag('recovery', 'hot_room_slow', 4000), lag('fault', 'hot_room', 20)]);
    expect(f.phases.recovery).toMatchObject({ healthyGeneratorLagMaxMs: 900, generatorLagSamples: 2, slowGeneratorLagMaxMs: 4000 });
    expect(f.phases.fault!.healthyGeneratorLagMaxMs).toBe(20);
  });

  it('a failed latency figure of a lagging phase is unverified (not passed); other phases and thresholds keep their failure', async () => {
    const f = await figures([lag('recovery', 'hot_room', 1200), lag('fault', 'hot_room', 240), lag('baseline', 'hot_room_slow', 5000)]);
    const out = unverifiedByLag(
      [failed('slow.recovery.healthy_fanout_p95'), failed('slow.recovery.echo_p95'), failed('slow.fault.healthy_fanout_p95'), failed('slow.baseline.healthy_fanout_p95'), failed('slow.recovery.healthy_fanout_delivery'), { ...failed('slow.recovery.healthy_fanout_p95'), result: 'pass' }],
      f,
    );
    expect(out.map((t) => t.result)).toEqual(['unverified', 'unverified', 'fail', 'fail', 'fail', 'pass']);
    expect(out[0]!.reason).toMatch(/the load generator lagged 1200 ms in the recovery phase/);
  });

  it('a breach the lag cannot explain (above limit + twice the lag) stays a failure', async () => {
    // the serial-fanout flaw on a loaded machine: 2629 ms in a phase whose healthy VUs lagged 332 ms at most
    const f = await figures([lag('fault', 'hot_room', 332), lag('recovery', 'hot_room', 900)]);
    const out = unverifiedByLag([{ ...failed('slow.fault.healthy_fanout_p95'), observed: 2629 }, { ...failed('slow.recovery.healthy_fanout_p95'), observed: 2300 }, { ...failed('slow.recovery.echo_p95'), observed: 2301 }], f);
    expect(out.map((t) => t.result)).toEqual(['fail', 'unverified', 'fail']);
  });

  it('an unverified figure is no pass: the verdict fails, every output names the generator', async () => {
    const f = await figures([lag('recovery', 'hot_room', 1200)]);
    const [t] = unverifiedByLag([failed('slow.recovery.healthy_fanout_p95')], f);
    expect(ThresholdResult.parse(t)).toMatchObject({ result: 'unverified' });
    expect(verdictOf([t!], [])).toBe('fail');
    expect(formatSummary('fail', [t!])).toMatch(/UNVERIFIED +slow\.recovery\.healthy_fanout_p95[\s\S]*unverified slow\.recovery\.healthy_fanout_p95: the load generator lagged 1200 ms/);
    expect(thresholdMessage(t!)).toMatch(/^unverified: the load generator lagged 1200 ms.*observed p\(95\) = 2665 ms/);
    expect(breachedOf({ thresholds: [t!], errors: [] })[0]).toMatch(/observed 2665; unverified: the load generator lagged 1200 ms/);
  });
});
