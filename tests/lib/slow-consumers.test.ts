// Slow consumers, the pure part (< 1 s): SLOW_CONSUMERS parsing, which subscribers are slow, the per-phase
// thresholds (healthy subscribers and the publishers' echo), the whole-run fan-out thresholds narrowed to the
// healthy subscribers, and a slow subscriber's fate.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config.js';
import { planFor, SCENARIO_PARTS } from '../../lib/plan.js';
import { coCorrected, healthyFanoutOnly, padding, parseSlowConsumers, slowConsumerScenarios, slowConsumerSpecs, slowFate, slowPerVu, withSlowConsumers } from '../../lib/slow-consumers.js';
import { getProfile } from '../../lib/profiles.js';
import { thresholdKey } from '../../lib/slo.js';

const ENV = {
  CHAT_URL: 'http://127.0.0.1:8080',
  AUTH_URL: 'http://127.0.0.1:8091',
  WS_URL: 'ws://127.0.0.1:8080/ws',
  TENANT_ID: 'default',
  LOGIN_EMAIL: 'a@b',
  LOGIN_PASSWORD: 'pw',
};
const SC = JSON.stringify({ share: 0.2, wsUrl: 'ws://127.0.0.1:9999/ws', padBytes: 1024, sendIntervalS: 0.1 });

describe('SLOW_CONSUMERS', () => {
  it('parses with defaults, and refuses bad values naming the variable and the field', () => {
    expect(parseSlowConsumers(undefined)).toBeUndefined();
    expect(parseSlowConsumers(SC)).toMatchObject({ share: 0.2, padBytes: 1024, sendIntervalS: 0.1, fanoutP95Ms: 500, fanoutDeliveryMin: 0.999, echoP95Ms: 500 });
    for (const [raw, at] of [
      ['{"share":1,"wsUrl":"ws://127.0.0.1:1/ws"}', /at share/],
      ['{"share":0.5,"wsUrl":"http://x/ws"}', /at wsUrl/],
      ['{"share":0.5,"wsUrl":"ws://127.0.0.1:1/ws","pad":1}', /SLOW_CONSUMERS|JSON object/],
      ['nope', /JSON object/],
    ] as const) {
      let err: unknown;
      try {
        parseConfig({ ...ENV, SLOW_CONSUMERS: raw });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('SLOW_CONSUMERS');
      expect((err as Error).message).toMatch(at);
      expect((err as Error).message.split('\n')).toHaveLength(1);
    }
  });

  it('a slow path outside loopback is refused like every other URL', () => {
    expect(() => parseConfig({ ...ENV, SLOW_CONSUMERS: JSON.stringify({ share: 0.2, wsUrl: 'ws://192.0.2.1:80/ws' }) })).toThrow(/SLOW_CONSUMERS: a loopback URL/);
  });

  it('at least one slow and one healthy subscriber per VU', () => {
    expect(slowPerVu(5, 0.2)).toBe(1);
    expect(slowPerVu(5, 0.01)).toBe(1);
    expect(slowPerVu(5, 0.99)).toBe(4);
    expect(slowPerVu(20, 0.25)).toBe(5);
    expect(slowPerVu(1, 0.5)).toBe(0);
  });

  it('the send interval override keeps the hot room span; padding is appended to the body filler', () => {
    const p = getProfile('failover');
    const sc = parseSlowConsumers(SC) as Exclude<ReturnType<typeof parseSlowConsumers>, undefined | { error: string }>;
    const q = withSlowConsumers(p, sc);
    expect(q.hotRoom!.sendIntervalS).toBe(0.1);
    expect(q.hotRoom!.messagesPerPublisher).toBe(p.hotRoom!.messagesPerPublisher * 10);
    expect(padding(0)).toBe('load test message');
    expect(padding(10)).toHaveLength('load test message '.length + 10);
  });
});

describe('slow-consumer thresholds', () => {
  const cfg = parseConfig({ ...ENV, PROFILE: 'failover', SLOW_CONSUMERS: SC, FAULT_WINDOWS: '[[6,18]]' });
  const { specs } = planFor(cfg, SCENARIO_PARTS.failover!);
  const keys = specs.map((s) => `${s.id} ${thresholdKey(s)}`);

  it('judges the healthy subscribers and the publishers echo in every phase', () => {
    for (const ph of ['baseline', 'fault', 'recovery']) {
      expect(keys).toContain(`slow.${ph}.healthy_fanout_p95 hot_room_fanout_co{phase:${ph},consumer:healthy}`);
      expect(keys).toContain(`slow.${ph}.healthy_fanout_delivery ws_fanout_delivery{phase:${ph},consumer:healthy}`);
      expect(keys).toContain(`slow.${ph}.echo_p95 hot_room_echo_co{phase:${ph}}`);
    }
  });

  it('the whole-run fan-out thresholds judge the healthy subscribers only; nothing judges the slow ones', () => {
    expect(keys).toContain('fanout_p95 ws_fanout_latency{consumer:healthy}');
    expect(keys).toContain('fanout_delivery ws_fanout_delivery{consumer:healthy}');
    expect(specs.some((s) => s.tags.consumer === 'slow')).toBe(false);
    expect(healthyFanoutOnly(specs)).toEqual(specs);
  });

  it('without slow consumers nothing changes; without the hot room there is nothing to judge', () => {
    const plain = planFor(parseConfig({ ...ENV, PROFILE: 'failover', FAULT_WINDOWS: '[[6,18]]' }), SCENARIO_PARTS.failover!);
    expect(plain.specs.some((s) => s.id.startsWith('slow.') || s.tags.consumer)).toBe(false);
    expect(slowConsumerSpecs(cfg.slowConsumers!, { rest: true, ws: true, hotRoom: false }, ['fault'])).toEqual([]);
    expect(planFor(cfg, SCENARIO_PARTS.rest!).specs.some((s) => s.id.startsWith('slow.'))).toBe(false);
  });
});

describe('coordinated omission', () => {
  it('a latency above the send interval also counts the sends the schedule would have made meanwhile', () => {
    expect(coCorrected(80, 100)).toEqual([{ value: 80, offsetMs: 0 }]);
    expect(coCorrected(350, 100)).toEqual([
      { value: 350, offsetMs: 0 },
      { value: 250, offsetMs: 100 },
      { value: 150, offsetMs: 200 },
    ]);
    // one 10 s stall among 200 quick samples: invisible to a raw p95, not to the corrected one
    const quick = Array.from({ length: 200 }, () => 50);
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]!;
    expect(p95([...quick, 10_000])).toBe(50);
    expect(p95([...quick, ...coCorrected(10_000, 100).map((c) => c.value)])).toBeGreaterThan(500);
    expect(coCorrected(1e9, 1)).toHaveLength(601);
  });
});

describe('slow subscriber fate', () => {
  const base = { opened: true, closedByPeer: 0, ackedSeqs: [0, 1, 2] };
  it('caught-up, behind, dropped, never-opened', () => {
    expect(slowFate({ ...base, received: new Set([0, 1, 2]) })).toBe('caught-up');
    expect(slowFate({ ...base, received: new Set([0, 2]) })).toBe('behind');
    expect(slowFate({ ...base, closedByPeer: 1, received: new Set([0, 1, 2]) })).toBe('dropped');
    expect(slowFate({ ...base, opened: false, received: new Set() })).toBe('never-opened');
  });
});

describe('the slow subscribers on VUs of their own', () => {
  it('a hot_room_slow scenario beside hot_room, one VU per hot-room VU; none without slow consumers or hot room', () => {
    const cfg = parseConfig({ ...ENV, PROFILE: 'failover', SLOW_CONSUMERS: SC });
    const { profile } = planFor(cfg, SCENARIO_PARTS.failover!);
    const s = slowConsumerScenarios(profile, cfg.slowConsumers);
    expect(s.hot_room_slow).toMatchObject({ executor: 'per-vu-iterations', vus: profile.hotRoom!.vus, iterations: 1, exec: 'hotRoomSlowSession' });
    expect(slowConsumerScenarios(profile, undefined)).toEqual({});
    expect(slowConsumerScenarios({ ...profile, hotRoom: { ...profile.hotRoom!, subscribersPerVu: 1 } }, cfg.slowConsumers)).toEqual({});
    const { hotRoom: _h, ...noHot } = profile;
    expect(slowConsumerScenarios(noHot, cfg.slowConsumers)).toEqual({});
  });
});
