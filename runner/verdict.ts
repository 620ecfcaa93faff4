/**
 * The verdict of a k6 run: every threshold of k6's summary data, with its limit, the observed value and the
 * number of samples behind it (counted in k6's raw output). k6 passes a threshold whose (sub)metric got no
 * sample at all; here that is a failure ("no-samples"): a threshold that measured nothing proves nothing.
 */
import { countSamples, type SeriesFilter } from './raw.js';
import type { K6SummaryData, K6SummaryMetric, ThresholdResult } from './summary.js';

export interface ParsedExpression {
  aggregation: string;
  operator: string;
  limit: number;
}

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*$/i;

/** Parses a k6 threshold expression such as `p(95)<300` or `rate>=0.999`. */
export function parseExpression(expression: string): ParsedExpression | undefined {
  const m = EXPRESSION.exec(expression);
  if (!m) return undefined;
  return { aggregation: m[1]!.replace(/\s+/g, ''), operator: m[2]!, limit: Number(m[3]) };
}

/** Splits `http_req_duration{endpoint:message_store,phase:fault}` into its base metric and tag filter, as k6 does. */
export function parseMetricName(name: string): { baseMetric: string; tags: Record<string, string> } {
  const open = name.indexOf('{');
  if (open < 0 || !name.endsWith('}')) return { baseMetric: name.trim(), tags: {} };
  const tags: Record<string, string> = {};
  for (const part of name.slice(open + 1, -1).split(',')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const unquote = (s: string) => s.trim().replace(/^(["'])(.*)\1$/, '$2');
    tags[unquote(part.slice(0, colon))] = unquote(part.slice(colon + 1));
  }
  return { baseMetric: name.slice(0, open).trim(), tags };
}

/** k6's percentile: linear interpolation between the closest ranks of the sorted samples. */
export function percentile(values: readonly number[], pct: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  if (values.length === 1) return sorted[0]!;
  const pos = (pct / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** An aggregation (`p(95)`, `rate`, `avg`, `count`, ...) of raw sample values, as k6 computes it; null without samples. */
export function aggregate(values: readonly number[], aggregation: string): number | null {
  if (values.length === 0) return null;
  const p = /^p\((.+)\)$/.exec(aggregation);
  if (p) return percentile(values, Number(p[1]));
  const sum = values.reduce((a, b) => a + b, 0);
  switch (aggregation) {
    case 'avg': return sum / values.length;
    case 'min': return values.reduce((a, b) => (b < a ? b : a));
    case 'max': return values.reduce((a, b) => (b > a ? b : a)); // no spread: millions of samples
    case 'med': return percentile(values, 50);
    case 'count': return sum;
    case 'rate': return sum / values.length;
    case 'value': return values[values.length - 1]!;
    default: return null;
  }
}

/** Whether `observed <op> limit` holds (k6's threshold operators). */
export function holds(observed: number, operator: string, limit: number): boolean {
  switch (operator) {
    case '<': return observed < limit;
    case '<=': return observed <= limit;
    case '>': return observed > limit;
    case '>=': return observed >= limit;
    case '==': case '===': return observed === limit;
    case '!=': return observed !== limit;
    default: return false;
  }
}

function unitOf(metric: K6SummaryMetric): string {
  if (metric.contains === 'time') return 'ms';
  if (metric.contains === 'data') return 'B';
  return '';
}

interface Pending {
  metricName: string;
  metric: K6SummaryMetric;
  expression: string;
  parsed: ParsedExpression | undefined;
  k6Ok: boolean;
}

/**
 * Builds the threshold list of a run from k6's summary data and its raw output file.
 * Results are sorted by metric name, then expression, so reports are stable.
 */
export async function judgeThresholds(data: K6SummaryData, rawPath: string): Promise<ThresholdResult[]> {
  const pending: Pending[] = [];
  for (const [metricName, metric] of Object.entries(data.metrics)) {
    for (const [expression, { ok }] of Object.entries(metric.thresholds ?? {})) {
      pending.push({ metricName, metric, expression, parsed: parseExpression(expression), k6Ok: ok });
    }
  }
  pending.sort((a, b) => a.metricName.localeCompare(b.metricName) || a.expression.localeCompare(b.expression));

  const filters = new Map<string, SeriesFilter>();
  for (const p of pending) {
    const { baseMetric, tags } = parseMetricName(p.metricName);
    const missing = p.parsed && p.metric.values[p.parsed.aggregation] === undefined;
    const prev = filters.get(p.metricName);
    filters.set(p.metricName, { key: p.metricName, baseMetric, tags, keepValues: Boolean(prev?.keepValues || missing) });
  }
  const counts = await countSamples(rawPath, [...filters.values()]);

  const infos = data.suite?.thresholds ?? [];
  return pending.map((p): ThresholdResult => {
    const { baseMetric, tags } = parseMetricName(p.metricName);
    const info = infos.find((i) => i.key === p.metricName && i.expression === p.expression);
    const count = counts.get(p.metricName)!;
    const aggregation = p.parsed?.aggregation ?? p.expression;
    const observed =
      count.samples === 0 ? null : (p.metric.values[aggregation] ?? (count.values ? aggregate(count.values, aggregation) : null));
    return {
      name: `${p.metricName}: ${p.expression}`,
      metric: p.metricName,
      baseMetric,
      tags,
      expression: p.expression,
      aggregation,
      operator: p.parsed?.operator ?? '?',
      limit: p.parsed?.limit ?? Number.NaN,
      observed,
      unit: unitOf(p.metric),
      samples: count.samples,
      k6Ok: p.k6Ok,
      // k6 judged the threshold on exactly these samples; its judgement stands, except that nothing measured fails.
      result: count.samples === 0 ? 'no-samples' : p.k6Ok ? 'pass' : 'fail',
      ...(info?.id !== undefined ? { id: info.id } : {}),
      ...(info?.meaning !== undefined ? { meaning: info.meaning } : {}),
      ...(info?.abortOnFail !== undefined ? { abortOnFail: info.abortOnFail } : {}),
    };
  });
}

export function verdictOf(thresholds: readonly ThresholdResult[], errors: readonly string[]): 'pass' | 'fail' {
  return errors.length === 0 && thresholds.length > 0 && thresholds.every((t) => t.result === 'pass') ? 'pass' : 'fail';
}

/** Human text for a value: ms for time trends, % for rates, plain numbers otherwise. */
export function formatValue(value: number | null, t: Pick<ThresholdResult, 'unit' | 'aggregation'>): string {
  if (value === null || Number.isNaN(value)) return '—';
  if (t.aggregation === 'rate') return `${+(value * 100).toPrecision(4)} %`;
  const n = Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(1) : +value.toPrecision(3) + '';
  return t.unit ? `${n} ${t.unit}` : n;
}

/** Aligned human summary: the verdict, then every threshold with result, observed value and limit. */
export function formatSummary(verdict: 'pass' | 'fail', thresholds: readonly ThresholdResult[], errors: readonly string[] = []): string {
  const breached = thresholds.filter((t) => t.result !== 'pass').length;
  const rows = thresholds.map((t) => [
    t.result === 'pass' ? 'pass' : t.result === 'fail' ? 'FAIL' : t.result === 'unverified' ? 'UNVERIFIED' : 'NO SAMPLES',
    `${t.id ? `${t.id}: ` : ''}${t.metric} ${t.aggregation}`,
    t.result === 'no-samples' ? '— (0 samples)' : formatValue(t.observed, t),
    `${t.operator === '===' ? '==' : t.operator} ${formatValue(t.limit, t)}`,
  ]);
  const header = ['result', 'threshold', 'observed', 'limit'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '  ' + r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const head =
    verdict === 'pass'
      ? `verdict: PASS (${thresholds.length} thresholds held)`
      : `verdict: FAIL (${breached} of ${thresholds.length} thresholds breached${errors.length ? `; ${errors.join('; ')}` : ''})`;
  const why = thresholds.filter((t) => t.result === 'unverified').map((t) => `  unverified ${t.id ?? t.name}: ${t.reason ?? 'the figure cannot be trusted'}`);
  return [head, line(header), ...rows.map(line), ...why].join('\n');
}
