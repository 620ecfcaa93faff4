/**
 * k6 execution segments for a run split into n equal parts: part i of n (1-based) runs
 * `--execution-segment (i-1)/n:i/n --execution-segment-sequence 0,1/n,...,1`. Every part gets the same sequence,
 * so k6 stripes VUs and iterations over the parts and the parts together are exactly the whole (no VU, arrival,
 * or iteration lost or doubled). The k6-operator does the same with `parallelism: n` (runner i gets segment
 * (i-1)/n:i/n of the same sequence), so a local split and an operator run apply identical segments.
 */

export interface SegmentSpec {
  /** 1-based part index. */
  index: number;
  count: number;
}

export const MAX_PARTS = 1000;
/** `--local-parts`: k6 processes one runner starts at most. */
export const MAX_LOCAL_PARTS = 256;

function frac(k: number, n: number): string {
  if (k === 0) return '0';
  if (k === n) return '1';
  return `${k}/${n}`;
}

/** `1/3` → {index: 1, count: 3}; undefined when malformed (0 < i ≤ n ≤ MAX_PARTS). */
export function parseSegment(text: string): SegmentSpec | undefined {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_PARTS || index < 1 || index > count) return undefined;
  return { index, count };
}

/**
 * The k6 segments of runner `index` of `count` run as `k` local parts (`--local-parts k`): parts
 * (index-1)k+1 .. index*k of count*k, so n runners of k processes each are exactly the whole.
 */
export function localSegments({ index, count }: SegmentSpec, k: number): SegmentSpec[] {
  return Array.from({ length: k }, (_, j) => ({ index: (index - 1) * k + j + 1, count: count * k }));
}

/** `0,1/3,2/3,1` */
export function segmentSequence(count: number): string {
  return Array.from({ length: count + 1 }, (_, k) => frac(k, count)).join(',');
}

/** `1/3:2/3` for part 2 of 3. */
export function executionSegment({ index, count }: SegmentSpec): string {
  return `${frac(index - 1, count)}:${frac(index, count)}`;
}

/** The k6 arguments of one part (none for an unsplit run, 1/1). */
export function segmentArgs(seg: SegmentSpec): string[] {
  if (seg.count === 1) return [];
  return ['--execution-segment', executionSegment(seg), '--execution-segment-sequence', segmentSequence(seg.count)];
}

/** The directory name of a part inside `reports/<run-id>/parts/`. */
export function partDirName({ index, count }: SegmentSpec): string {
  return `${index}-of-${count}`;
}

/**
 * k6's share of an integer (VUs, iterations) for part `index` of `count` equal segments of one sequence
 * (lib/execution_segment.go, ScaleInt64 with the striped offsets of equal segments: part k gets the values
 * whose position modulo count is k-1). Sums over the parts to exactly `value`.
 */
export function segmentShareInt(value: number, { index, count }: SegmentSpec): number {
  const whole = Math.floor(value / count) ;
  return whole + (index - 1 < value % count ? 1 : 0);
}

/** k6's share of an arrival rate (iterations per time unit) for one part: exact fraction of the whole. */
export function segmentShareRate(rate: number, { count }: SegmentSpec): number {
  return rate / count;
}
