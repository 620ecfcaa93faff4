import { describe, expect, it } from 'vitest';
import {
  backoffCeilingMs,
  backoffDelayMs,
  DEFAULT_RECONNECT,
  formatGaps,
  nextStep,
  parseGaps,
  sessionOk,
  type ReconnectPolicy,
} from '../../lib/reconnect.js';
import { PROFILES } from '../../lib/profiles.js';

const P: ReconnectPolicy = { baseMs: 200, capMs: 5000, maxAttempts: 5, gapOkMs: 10_000 };
/** A fixed "random" value in [0, 1). */
const fixed = (x: number) => () => x;

describe('backoff schedule: exponential, capped, full jitter', () => {
  it('doubles the ceiling per attempt from the base up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffCeilingMs(P, n))).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(backoffCeilingMs(P, 5000)).toBe(5000); // no overflow for absurd attempt numbers
  });
  it('draws each delay uniformly from [0, ceiling): the whole range, nothing outside it', () => {
    expect(backoffDelayMs(P, 0, fixed(0))).toBe(0);
    expect(backoffDelayMs(P, 2, fixed(0.5))).toBe(400);
    expect(backoffDelayMs(P, 2, fixed(0.999999))).toBe(799);
    expect(backoffDelayMs(P, 9, fixed(0.5))).toBe(2500);
    // Math.random: many draws stay inside the range and spread over it (full jitter, not equal jitter).
    const draws = Array.from({ length: 2000 }, () => backoffDelayMs(P, 3));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1600);
    expect(draws.filter((d) => d < 400).length).toBeGreaterThan(300); // about a quarter below a quarter of the ceiling
    expect(draws.filter((d) => d >= 1200).length).toBeGreaterThan(300);
  });
  it('every profile uses the default policy: base 200 ms, cap 5 s', () => {
    for (const p of Object.values(PROFILES)) expect(p.reconnect).toEqual(DEFAULT_RECONNECT);
    expect(DEFAULT_RECONNECT).toMatchObject({ baseMs: 200, capMs: 5000 });
  });
});

describe('next step after a disconnection', () => {
  it('retries at now + delay while attempts remain and the attempt falls before the planned end', () => {
    expect(nextStep(P, 0, 1000, 60_000, fixed(0.5))).toEqual({ retryAtMs: 1100 });
    expect(nextStep(P, 4, 1000, 60_000, fixed(0.5))).toEqual({ retryAtMs: 2600 });
  });
  it('gives up once maxAttempts attempts were made in this outage', () => {
    expect(nextStep(P, 5, 1000, 60_000, fixed(0.5))).toBe('give-up');
    expect(nextStep(P, 99, 1000, 60_000, fixed(0))).toBe('give-up');
  });
  it('makes no attempt at or after the planned end: waits for the planned close', () => {
    expect(nextStep(P, 3, 59_500, 60_000, fixed(0.5))).toBe('wait-for-end'); // 59,500 + 800 ≥ 60,000
    expect(nextStep(P, 0, 59_900, 60_000, fixed(0.4))).toEqual({ retryAtMs: 59_980 });
    expect(nextStep(P, 0, 59_900, 60_000, fixed(0.5))).toBe('wait-for-end'); // exactly at the end
    expect(nextStep(P, 0, 60_000, 60_000, fixed(0))).toBe('wait-for-end');
  });
  it('a whole outage is bounded: the sum of the longest delays of maxAttempts attempts', () => {
    let worst = 0;
    for (let n = 0; n < DEFAULT_RECONNECT.maxAttempts; n++) worst += backoffCeilingMs(DEFAULT_RECONNECT, n);
    expect(worst).toBe(200 + 400 + 800 + 1600 + 3200 + 15 * 5000);
  });
});

describe('ws_session_ok with reconnects', () => {
  const base = { opened: true, gaveUp: false, endMs: 60_000 };
  it('a session never disconnected is ok; one that never opened or gave up is not', () => {
    expect(sessionOk(P, { ...base, gaps: [] })).toBe(true);
    expect(sessionOk(P, { ...base, opened: false, gaps: [] })).toBe(false);
    expect(sessionOk(P, { ...base, gaveUp: true, gaps: [{ downMs: 1000, upMs: 1500 }] })).toBe(false);
  });
  it('reconnect gaps up to gapOkMs are ok, a longer one is not', () => {
    expect(sessionOk(P, { ...base, gaps: [{ downMs: 1000, upMs: 3000 }, { downMs: 20_000, upMs: 30_000 }] })).toBe(true);
    expect(sessionOk(P, { ...base, gaps: [{ downMs: 1000, upMs: 3000 }, { downMs: 20_000, upMs: 30_001 }] })).toBe(false);
  });
  it('an outage still open at the planned end counts up to that end', () => {
    expect(sessionOk(P, { ...base, gaps: [{ downMs: 55_000 }] })).toBe(true);
    expect(sessionOk(P, { ...base, gaps: [{ downMs: 49_000 }] })).toBe(false);
  });
});

describe('gaps as sample metadata', () => {
  it('round-trips, closes an open gap at the end, keeps the last `max` gaps, skips malformed parts', () => {
    const text = formatGaps([{ downMs: 1000, upMs: 1500.4 }, { downMs: 2000 }], 2600);
    expect(text).toBe('1000-1500 2000-2600');
    expect(parseGaps(text)).toEqual([{ downMs: 1000, upMs: 1500 }, { downMs: 2000, upMs: 2600 }]);
    expect(formatGaps([{ downMs: 1, upMs: 2 }, { downMs: 3, upMs: 4 }, { downMs: 5, upMs: 6 }], 9, 2)).toBe('3-4 5-6');
    expect(parseGaps('')).toEqual([]);
    expect(parseGaps('x 7-8 9-')).toEqual([{ downMs: 7, upMs: 8 }]);
  });
});
