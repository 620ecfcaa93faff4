/**
 * How much a count of zero (or k) events in n trials can hide: the exact one-sided (Clopper-Pearson) upper
 * confidence bound on a binomial rate, and how many trials a target would need. PURE.
 *
 *   upperBound(0, 231) = 1 − 0.05^(1/231) ≈ 0.0129: "0 lost of 231 messages: the loss rate is below 1.3 % (95 %)".
 *
 * For k > 0 the bound p solves P(X ≤ k | n, p) = α, i.e. I_{1−p}(n − k, k + 1) = α with I the regularized
 * incomplete beta function (continued fraction, Numerical Recipes §6.4), found by bisection.
 */

export const CONFIDENCE = 0.95;

/** ln Γ(x), Lanczos (g = 7, 9 coefficients), x > 0; ~15 significant digits. */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), a, b > 0, 0 ≤ x ≤ 1. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaCf(a, b, x)) / a;
  return 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return incompleteBeta(1 - p, n - k, k + 1);
}

function checkCounts(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`bound: need whole numbers 0 <= k <= n, got k=${k}, n=${n}`);
  }
}

/**
 * The exact one-sided upper confidence bound on the rate after k events in n trials (default 95 %).
 * n = 0 → 1 (nothing judged: nothing excluded); k = n → 1.
 */
export function upperBound(k: number, n: number, confidence = CONFIDENCE): number {
  checkCounts(k, n);
  const alpha = 1 - confidence;
  if (n === 0 || k === n) return 1;
  if (k === 0) return 1 - Math.pow(alpha, 1 / n);
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(hi, 1e-300); i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The fewest trials with the same k events whose upper bound is at or below `target` (0 < target < 1): how many
 * messages a verdict "rate below target" needs. Infinity when even unbounded n would not do (never, for k fixed).
 */
export function trialsNeeded(k: number, target: number, confidence = CONFIDENCE): number {
  if (!(target > 0 && target < 1)) throw new RangeError(`bound: target must be between 0 and 1, got ${target}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`bound: k must be a whole number >= 0, got ${k}`);
  const alpha = 1 - confidence;
  if (k === 0) return Math.ceil(Math.log(alpha) / Math.log(1 - target));
  let lo = k + 1;
  let hi = lo;
  while (upperBound(k, hi, confidence) > target) {
    lo = hi;
    hi *= 2;
    if (hi > 1e15) return Number.POSITIVE_INFINITY;
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (upperBound(k, mid, confidence) <= target) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/** "1.29 %" with 3 significant digits (or "< 0.001 %"). */
export function formatRate(p: number): string {
  if (p >= 1) return '100 %';
  const pct = p * 100;
  if (pct < 0.001) return '< 0.001 %';
  return `${Number(pct.toPrecision(3))} %`;
}
