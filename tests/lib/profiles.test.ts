import { describe, expect, it } from 'vitest';
import {
  figures,
  getProfile,
  hotRoomDurationS,
  k6Scenarios,
  loadDurationS,
  peakRestRate,
  peakSockets,
  peakVus,
  PROFILE_NAMES,
  PROFILES,
  rateTimeUnit,
  resolveProfile,
  restIterations,
  scaleProfile,
  selectParts,
  withDuration,
} from '../../lib/profiles.js';

describe('profiles', () => {
  it('has smoke, the staged plan and failover', () => {
    expect(PROFILE_NAMES).toEqual(['smoke', 'baseline', 'stage1', 'stage2', 'stage3', 'failover']);
    for (const n of PROFILE_NAMES) expect(getProfile(n).name).toBe(n);
  });

  it('keeps the smoke small: at most ~60 s of load, a few VUs and sockets', () => {
    const f = figures(PROFILES.smoke);
    expect(f).toEqual({
      name: 'smoke',
      loadDurationS: 20,
      peakVus: 26,
      peakSockets: 16,
      peakRestRate: 4,
      restIterations: 80,
      hotRoomSubscribers: 8,
      hotRoomMessages: 30,
    });
    expect(f.loadDurationS).toBeLessThanOrEqual(60);
  });

  it('follows the contract stage table: concurrent users = sockets at the plateau', () => {
    const plateau = (n: 'baseline' | 'stage1' | 'stage2' | 'stage3') => {
      const p = PROFILES[n];
      return Math.max(...p.ws!.stages.map((s) => s.target)) * p.ws!.socketsPerVu;
    };
    expect(plateau('baseline')).toBe(500);
    expect(plateau('stage1')).toBe(5000);
    expect(plateau('stage2')).toBe(20000);
    expect(plateau('stage3')).toBe(100000);
    expect(PROFILES.baseline.ws!.stages[0]!.target * 10).toBe(200);
    expect(loadDurationS(PROFILES.baseline)).toBe(600);
    expect(loadDurationS(PROFILES.stage1)).toBe(1200);
    expect(loadDurationS(PROFILES.stage2)).toBe(1500);
    expect(loadDurationS(PROFILES.stage3)).toBe(1800);
    expect(peakSockets(PROFILES.stage3)).toBe(100000 + 50 * 201);
    expect(peakRestRate(PROFILES.stage3)).toBe(5000);
  });

  it('counts REST iterations over linear ramps as k6 does', () => {
    // baseline: 0→10/s over 60 s, 10→25 over 240 s, 25 for 240 s, 25→0 over 60 s
    expect(restIterations(PROFILES.baseline)).toBe(300 + 4200 + 6000 + 750);
    expect(restIterations(PROFILES.smoke)).toBe(80);
  });

  it('adds peak VUs of every part', () => {
    const p = PROFILES.baseline;
    expect(peakVus(p)).toBe(p.rest!.maxVUs + 50 + 5 + 5); // rest + ws + hot room + msa
  });

  it('scales every rate, VU and subscriber count by a factor, never to zero', () => {
    const s = scaleProfile(PROFILES.stage3, 0.01);
    expect(peakRestRate(s)).toBeCloseTo(50);
    expect(Math.max(...s.ws!.stages.map((x) => x.target))).toBe(20);
    expect(s.ws!.stages.at(-1)!.target).toBe(0);
    expect(s.hotRoom!.vus).toBe(1);
    expect(s.rest!.preAllocatedVUs).toBeGreaterThanOrEqual(1);
    expect(s.rest!.maxVUs).toBeGreaterThanOrEqual(s.rest!.preAllocatedVUs);
    expect(restIterations(s)).toBeCloseTo(restIterations(PROFILES.stage3) * 0.01, 6);
    expect(loadDurationS(s)).toBe(loadDurationS(PROFILES.stage3));
    expect(scaleProfile(PROFILES.smoke, 1)).toBe(PROFILES.smoke);
    expect(() => scaleProfile(PROFILES.smoke, 0)).toThrow(RangeError);
    expect(PROFILES.stage3.hotRoom!.vus).toBe(50); // the original is untouched
  });

  it('sets the duration: hold profiles run that long, staged ones stretch', () => {
    const f = withDuration(PROFILES.failover, 120);
    expect(loadDurationS(f)).toBe(120);
    expect(f.ws!.sessionS).toBe(120);
    expect(hotRoomDurationS(f.hotRoom!)).toBeLessThanOrEqual(120);
    expect(f.hotRoom!.messagesPerPublisher).toBe(115);
    const b = withDuration(PROFILES.baseline, 60);
    expect(loadDurationS(b)).toBe(60);
    expect(b.rest!.stages.map((s) => s.durationS)).toEqual([6, 24, 24, 6]);
    expect(b.ws!.sessionS).toBe(10);
    expect(withDuration(PROFILES.baseline, 1200).ws!.sessionS).toBe(60);
  });

  it('resolves SCALE, DURATION and USER_POOL together', () => {
    const p = resolveProfile('failover', { scale: 0.5, durationS: 30, userPool: 0 });
    expect(loadDurationS(p)).toBe(30);
    expect(peakRestRate(p)).toBe(10);
    expect(p.userPool).toBe(0);
  });

  it('selects parts', () => {
    const p = selectParts(PROFILES.smoke, { rest: true });
    expect(p.rest).toBeDefined();
    expect(p.ws).toBeUndefined();
    expect(p.hotRoom).toBeUndefined();
    expect(Object.keys(k6Scenarios(p))).toEqual(['rest']);
  });
});

describe('k6 scenarios', () => {
  it('writes the smoke as four executors that segment cleanly', () => {
    expect(k6Scenarios(PROFILES.smoke)).toEqual({
      rest: { executor: 'constant-arrival-rate', rate: 4, timeUnit: '1s', duration: '20s', preAllocatedVUs: 4, maxVUs: 20, exec: 'restIteration', gracefulStop: '15s' },
      ws: { executor: 'per-vu-iterations', vus: 2, iterations: 1, maxDuration: '50s', gracefulStop: '10s', exec: 'wsSession' },
      hot_room: { executor: 'per-vu-iterations', vus: 2, iterations: 1, maxDuration: '56s', gracefulStop: '10s', exec: 'hotRoomSession' },
      msa: { executor: 'constant-vus', vus: 2, duration: '20s', gracefulStop: '35s', exec: 'msaIteration' },
    });
  });

  it('writes staged profiles as ramping arrival rate and ramping VUs', () => {
    const s = k6Scenarios(PROFILES.baseline);
    expect(s.rest).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      stages: [
        { duration: '60s', target: 10 },
        { duration: '240s', target: 25 },
        { duration: '240s', target: 25 },
        { duration: '60s', target: 0 },
      ],
    });
    // Scaled to 5 %: 0.5/s and 1.25/s stay exact as 30/min and 75/min.
    expect(k6Scenarios(scaleProfile(PROFILES.baseline, 0.05)).rest).toMatchObject({
      timeUnit: '1m',
      stages: [{ target: 30 }, { target: 75 }, { target: 75 }, { target: 0 }],
    });
    expect(s.ws).toMatchObject({ executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '60s', target: 20 }, { duration: '240s', target: 50 }, { duration: '240s', target: 50 }, { duration: '60s', target: 0 }] });
  });

  it('picks a time unit that keeps fractional rates exact', () => {
    expect(rateTimeUnit([1, 2])).toEqual({ timeUnit: '1s', per: 1 });
    expect(rateTimeUnit([0.5, 2])).toEqual({ timeUnit: '1m', per: 60 });
    expect(rateTimeUnit([1 / 7])).toEqual({ timeUnit: '1h', per: 3600 });
  });
});
