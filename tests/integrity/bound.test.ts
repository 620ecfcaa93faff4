/**
 * The confidence-bound arithmetic (integrity/bound.ts) against closed forms and a direct binomial sum.
 */
import { describe, expect, it } from 'vitest';
import { binomialCdf, formatRate, lnGamma, trialsNeeded, upperBound } from '../../integrity/bound.js';

/** P(X <= k) by summing the terms directly (independent of the incomplete beta). */
function directCdf(k: number, n: number, p: number): number {
  let sum = 0;
  let lnTerm = n * Math.log(1 - p); // i = 0
  for (let i = 0; i <= k; i++) {
    sum += Math.exp(lnTerm);
    lnTerm += Math.log((n - i) / (i + 1)) + Math.log(p / (1 - p));
  }
  return sum;
}

describe('upperBound (exact one-sided Clopper-Pearson, 95 %)', () => {
  it('0 of n is 1 - 0.05^(1/n): 0 of 231 is below 1.3 %', () => {
    expect(upperBound(0, 231)).toBeCloseTo(1 - Math.pow(0.05, 1 / 231), 12);
    expect(upperBound(0, 231)).toBeGreaterThan(0.0128);
    expect(upperBound(0, 231)).toBeLessThan(0.013);
    expect(formatRate(upperBound(0, 231))).toBe('1.29 %');
    expect(upperBound(0, 2995)).toBeLessThanOrEqual(0.001);
    expect(upperBound(0, 2994)).toBeGreaterThan(0.001);
  });

  it('k > 0: the p at which P(X <= k) is exactly 5 %, checked by a direct binomial sum', () => {
    for (const [k, n] of [[1, 100], [5, 100], [3, 1000], [17, 400], [1, 2], [40, 50]] as const) {
      const p = upperBound(k, n);
      expect(directCdf(k, n, p)).toBeCloseTo(0.05, 9);
      expect(p).toBeGreaterThan(k / n);
    }
    // textbook value: 1 event in 100 trials, one-sided 95 % upper bound 4.66 %
    expect(upperBound(1, 100)).toBeCloseTo(0.0466, 4);
  });

  it('edge cases: nothing judged or every trial an event → 1; large n stays exact; bad counts throw', () => {
    expect(upperBound(0, 0)).toBe(1);
    expect(upperBound(7, 7)).toBe(1);
    expect(upperBound(0, 1)).toBeCloseTo(0.95, 12);
    const big = upperBound(50, 10_000_000);
    expect(binomialCdf(50, 10_000_000, big)).toBeCloseTo(0.05, 6);
    expect(() => upperBound(3, 2)).toThrow(/0 <= k <= n/);
    expect(() => upperBound(-1, 2)).toThrow(RangeError);
    expect(() => upperBound(0.5, 2)).toThrow(RangeError);
  });

  it('the incomplete beta agrees with the direct sum over a grid', () => {
    for (const n of [1, 10, 57, 300]) {
      for (const k of [0, 1, Math.floor(n / 3), n - 1]) {
        for (const p of [0.001, 0.2, 0.5, 0.93]) expect(binomialCdf(k, n, p)).toBeCloseTo(directCdf(k, n, p), 10);
      }
    }
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
  });
});

describe('trialsNeeded', () => {
  it('the fewest trials with k events whose bound is at or below the target', () => {
    expect(trialsNeeded(0, 0.001)).toBe(2995);
    expect(trialsNeeded(0, 0.01)).toBe(299);
    for (const k of [1, 4]) {
      const n = trialsNeeded(k, 0.01);
      expect(upperBound(k, n)).toBeLessThanOrEqual(0.01);
      expect(upperBound(k, n - 1)).toBeGreaterThan(0.01);
    }
    expect(() => trialsNeeded(0, 0)).toThrow(/target/);
    expect(() => trialsNeeded(0, 1)).toThrow(/target/);
  });
});
