/** Threshold expressions and (sub)metric names as k6 writes them, and how values are shown. */
import { describe, expect, it } from 'vitest';
import { formatValue, parseExpression, parseMetricName, percentile } from '../../runner/verdict.js';

describe('parseExpression', () => {
  it.each([
    ['p(95)<300', { aggregation: 'p(95)', operator: '<', limit: 300 }],
    ['p(99.9) <= 1000', { aggregation: 'p(99.9)', operator: '<=', limit: 1000 }],
    ['rate>=0.999', { aggregation: 'rate', operator: '>=', limit: 0.999 }],
    ['count>0', { aggregation: 'count', operator: '>', limit: 0 }],
    ['avg<.5', { aggregation: 'avg', operator: '<', limit: 0.5 }],
    ['value==1', { aggregation: 'value', operator: '==', limit: 1 }],
    ['max!=-2', { aggregation: 'max', operator: '!=', limit: -2 }],
    ['med<1e3', { aggregation: 'med', operator: '<', limit: 1000 }],
  ])('%s', (expr, expected) => {
    expect(parseExpression(expr)).toEqual(expected);
  });
  it.each(['', 'p95<300', 'rate<', 'rate<<1', 'foo>1', 'rate<0.1 extra'])('rejects %j', (expr) => {
    expect(parseExpression(expr)).toBeUndefined();
  });
});

describe('parseMetricName', () => {
  it.each([
    ['http_req_duration', 'http_req_duration', {}],
    ['http_req_duration{endpoint:message_store}', 'http_req_duration', { endpoint: 'message_store' }],
    ['http_req_failed{phase:fault,scenario:rest}', 'http_req_failed', { phase: 'fault', scenario: 'rest' }],
    ['checks{check:status is 201}', 'checks', { check: 'status is 201' }],
    ['http_reqs{ name : "x" }', 'http_reqs', { name: 'x' }],
    ['http_req_duration{group:::setup}', 'http_req_duration', { group: '::setup' }],
  ])('%s', (name, base, tags) => {
    expect(parseMetricName(name)).toEqual({ baseMetric: base, tags });
  });
});

describe('percentile and formatValue', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([], 95)).toBeNull();
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 100)).toBe(4);
  });
  it('shows ms, percentages and plain numbers', () => {
    expect(formatValue(41.63, { unit: 'ms', aggregation: 'p(95)' })).toBe('41.6 ms');
    expect(formatValue(1450.2, { unit: 'ms', aggregation: 'p(99)' })).toBe('1450 ms');
    expect(formatValue(0.999, { unit: '', aggregation: 'rate' })).toBe('99.9 %');
    expect(formatValue(0.0123, { unit: '', aggregation: 'rate' })).toBe('1.23 %');
    expect(formatValue(12, { unit: '', aggregation: 'count' })).toBe('12');
    expect(formatValue(300, { unit: 'ms', aggregation: 'p(95)' })).toBe('300 ms');
    expect(formatValue(2.25, { unit: 'B', aggregation: 'avg' })).toBe('2.3 B');
    expect(formatValue(null, { unit: 'ms', aggregation: 'p(95)' })).toBe('—');
  });
});
