/**
 * The mergeable statistics of one (sub)metric's samples, in bounded memory, for judging a split run's
 * thresholds: exact count, sum, min, max and last value, plus a DDSketch (@datadog/sketches-js: log-bucketed,
 * relative-error quantile sketch) for the percentiles. One SeriesStats per part, merged (merge adds bucket
 * counts: never an average of the parts' percentiles).
 *
 * Error bound (tested in tests/split/series-stats.test.ts): `p(x)` uses k6's interpolation between the samples
 * at the two closest ranks; each of those two samples is read back from its bucket within RELATIVE_ERROR of
 * its true value, so for samples of one sign (latencies are ≥ 0) the percentile is within RELATIVE_ERROR
 * (0.5 %) of the exact one. count, rate, avg, min, max are exact (up to float summation). Memory: ~2,000
 * buckets of 8 bytes per sign per series over 1 µs..1 h, whatever the number of samples.
 */
import { DDSketch } from '@datadog/sketches-js';

/** The sketch's relative accuracy: every percentile is within 0.5 % of the exact one (same-sign samples). */
export const RELATIVE_ERROR = 0.005;

export class SeriesStats {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** The last value added (a gauge's `value`; with several parts: the last part's last sample). */
  last = Number.NaN;
  /** Magnitudes of the samples > 0 and < 0 (DDSketch's own merge drops negative values, so each sign has its own). */
  private readonly positive = new DDSketch({ relativeAccuracy: RELATIVE_ERROR });
  private readonly negative = new DDSketch({ relativeAccuracy: RELATIVE_ERROR });
  private zeros = 0;

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.count += 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.last = value;
    if (value > 0) this.positive.accept(value);
    else if (value < 0) this.negative.accept(-value);
    else this.zeros += 1;
  }

  /** Adds `other`'s samples to these (bucket counts add up; count, sum, min, max exactly). */
  merge(other: SeriesStats): this {
    if (other.count === 0) return this;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.last = other.last;
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zeros += other.zeros;
    return this;
  }

  /** The sample at 0-based `rank` of the sorted samples, within RELATIVE_ERROR (the exact min and max at the ends). */
  valueAtRank(rank: number): number {
    if (rank <= 0) return this.min;
    if (rank >= this.count - 1) return this.max;
    const neg = this.negative.count;
    // keyAtRank(r) = the bucket holding the sample of rank floor(r): +0.5 keeps float error off the boundary
    if (rank < neg) return -this.negative.mapping.value(this.negative.store.keyAtRank(neg - 1 - rank + 0.5));
    if (rank < neg + this.zeros) return 0;
    return this.positive.mapping.value(this.positive.store.keyAtRank(rank - neg - this.zeros + 0.5));
  }

  /** k6's percentile (linear interpolation between the closest ranks), from the sketch; null without samples. */
  percentile(pct: number): number | null {
    if (this.count === 0) return null;
    const pos = (pct / 100) * (this.count - 1);
    const lo = Math.floor(pos);
    const a = this.valueAtRank(lo);
    if (pos === lo) return a;
    return a + (this.valueAtRank(lo + 1) - a) * (pos - lo);
  }

  /** An aggregation of a k6 threshold expression (`p(95)`, `rate`, `avg`, `count`, ...); null without samples. */
  aggregate(aggregation: string): number | null {
    if (this.count === 0) return null;
    const p = /^p\((.+)\)$/.exec(aggregation);
    if (p) return this.percentile(Number(p[1]));
    switch (aggregation) {
      case 'avg': case 'rate': return this.sum / this.count;
      case 'min': return this.min;
      case 'max': return this.max;
      case 'med': return this.percentile(50);
      case 'count': return this.sum;
      case 'value': return this.last;
      default: return null;
    }
  }
}
