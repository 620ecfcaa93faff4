import { describe, expect, it } from 'vitest';
import {
  BASE_ABORT,
  BASE_SLO,
  holds,
  thresholdExpression,
  thresholdKey,
  thresholdSpecs,
  toK6Thresholds,
  withOverrides,
  type SloSet,
} from '../../lib/slo.js';
import { PROFILES } from '../../lib/profiles.js';

const ALL = { rest: true, ws: true, hotRoom: true };
const BASE: SloSet = { whole: BASE_SLO, abort: BASE_ABORT };

describe('thresholds from the SLO description', () => {
  it('turns the contract SLO into k6 thresholds for every part', () => {
    expect(toK6Thresholds(thresholdSpecs(BASE, ALL))).toEqual({
      message_store_success: ['rate>=0.999', { threshold: 'rate>=0.5', abortOnFail: true, delayAbortEval: '10s' }],
      message_store_latency: ['p(95)<=300', 'p(99)<=800'],
      'http_req_duration{endpoint:message_list}': ['p(95)<=400'],
      'http_req_duration{traffic:load}': ['p(95)<=500'],
      'http_req_failed{traffic:load}': ['rate<=0.01', { threshold: 'rate<=0.5', abortOnFail: true, delayAbortEval: '10s' }],
      ws_sends_skipped: ['rate<=0.01'],
      ws_delivery_latency: ['p(95)<=300'],
      ws_session_ok: ['rate>=0.99', { threshold: 'rate>=0.5', abortOnFail: true, delayAbortEval: '10s' }],
      ws_fanout_latency: ['p(95)<=500'],
      ws_fanout_delivery: ['rate>=0.999'],
    });
  });

  it('leaves out thresholds of parts that do not run', () => {
    const rest = thresholdSpecs(BASE, { rest: true, ws: false, hotRoom: false }).map((s) => s.id);
    expect(rest).toEqual(['store_success', 'store_p95', 'store_p99', 'list_p95', 'http_p95', 'error_rate', 'abort.store_success', 'abort.error_rate']);
    const hot = thresholdSpecs(BASE, { rest: false, ws: false, hotRoom: true }).map((s) => s.id);
    expect(hot).toEqual(['store_success', 'store_p95', 'store_p99', 'ws_session_ok', 'fanout_p95', 'fanout_delivery', 'abort.store_success', 'abort.ws_session_ok']);
    expect(thresholdSpecs(BASE, { rest: false, ws: false, hotRoom: false })).toEqual([]);
  });

  it('read_after_write_miss is judged only when a limit is set (SLO readAfterWriteMissMax); ws_sends_skipped with the ws part', () => {
    expect(thresholdSpecs(BASE, ALL).map((s) => s.id)).not.toContain('read_after_write_miss');
    const set = withOverrides(BASE, { whole: { readAfterWriteMissMax: 0 } });
    expect(toK6Thresholds(thresholdSpecs(set, ALL)).read_after_write_miss).toEqual(['rate<=0']);
    expect(thresholdSpecs(set, { rest: false, ws: true, hotRoom: false }).map((s) => s.id)).not.toContain('read_after_write_miss');
    expect(thresholdSpecs(BASE, { rest: false, ws: true, hotRoom: false }).map((s) => s.id)).toContain('ws_sends_skipped');
    expect(thresholdSpecs(BASE, { rest: false, ws: false, hotRoom: true }).map((s) => s.id)).not.toContain('ws_sends_skipped');
  });

  it('adds p99 of every request only when the SLO has one (stage 2)', () => {
    const ids = thresholdSpecs(PROFILES.stage2.slo, ALL).map((s) => s.id);
    expect(ids).toContain('http_p99');
    expect(thresholdSpecs(PROFILES.baseline.slo, ALL).map((s) => s.id)).not.toContain('http_p99');
    const k6 = toK6Thresholds(thresholdSpecs(PROFILES.stage2.slo, ALL));
    expect(k6['http_req_duration{traffic:load}']).toEqual(['p(95)<=400', 'p(99)<=1000']);
    expect(k6['http_req_failed{traffic:load}']?.[0]).toBe('rate<=0.015');
  });

  it('generates per-phase thresholds with their own limits (failover)', () => {
    const specs = thresholdSpecs(PROFILES.failover.slo, ALL);
    const k6 = toK6Thresholds(specs);
    expect(k6['http_req_failed{phase:fault}']).toEqual(['rate<=0.05']);
    expect(k6['http_req_duration{phase:fault}']).toEqual(['p(95)<=3000']);
    expect(k6['message_store_success{phase:fault}']).toEqual(['rate>=0.95']);
    expect(k6['message_store_latency{phase:fault}']).toEqual(['p(95)<=3000']);
    expect(k6['ws_delivery_latency{phase:fault}']).toEqual(['p(95)<=3000']);
    expect(k6['http_req_failed{phase:baseline}']).toEqual(['rate<=0.01']);
    expect(k6['message_store_success{phase:recovery}']).toEqual(['rate>=0.99']);
    const fault = specs.filter((s) => s.phase === 'fault');
    expect(fault.map((s) => s.id)).toEqual(['fault.store_success', 'fault.store_p95', 'fault.error_rate', 'fault.http_p95', 'fault.ws_delivery_p95']);
    expect(fault.every((s) => s.tags.phase === 'fault' && s.meaning.startsWith('fault phase:'))).toBe(true);
  });

  it('adds a reconnect-time limit only for a phase that sets one (a chat-instance fault), for the socket parts', () => {
    // Off by default: a drill on a dbman node has no reconnects, and a threshold without samples fails.
    for (const p of Object.values(PROFILES)) expect(thresholdSpecs(p.slo, ALL).some((s) => s.metric === 'ws_reconnect_ms')).toBe(false);
    const chatFault = withOverrides(PROFILES.failover.slo, { phases: { fault: { wsReconnectP95Ms: 5000 } } });
    const specs = thresholdSpecs(chatFault, ALL);
    expect(specs.find((s) => s.id === 'fault.ws_reconnect_p95')).toMatchObject({ metric: 'ws_reconnect_ms', tags: { phase: 'fault' }, stat: 'p(95)', op: '<=', limit: 5000, unit: 'ms', phase: 'fault' });
    expect(toK6Thresholds(specs)['ws_reconnect_ms{phase:fault}']).toEqual(['p(95)<=5000']);
    // the ids that existed before keep their place
    expect(specs.filter((s) => s.phase === 'fault').map((s) => s.id)).toEqual(['fault.store_success', 'fault.store_p95', 'fault.error_rate', 'fault.http_p95', 'fault.ws_reconnect_p95', 'fault.ws_delivery_p95']);
    expect(thresholdSpecs(chatFault, { rest: true, ws: false, hotRoom: false }).map((s) => s.id)).not.toContain('fault.ws_reconnect_p95');
    expect(thresholdSpecs(chatFault, { rest: false, ws: false, hotRoom: true }).map((s) => s.id)).toContain('fault.ws_reconnect_p95');
  });

  it('marks the abort thresholds and nothing else', () => {
    const specs = thresholdSpecs(BASE, ALL);
    expect(specs.filter((s) => s.abortOnFail).map((s) => s.id)).toEqual(['abort.store_success', 'abort.error_rate', 'abort.ws_session_ok']);
    expect(specs.filter((s) => s.abortOnFail).every((s) => s.delayAbortEvalS === 10)).toBe(true);
  });

  it('gives every threshold a unique id and a meaning with its limit', () => {
    for (const p of Object.values(PROFILES)) {
      const specs = thresholdSpecs(p.slo, ALL);
      expect(new Set(specs.map((s) => s.id)).size).toBe(specs.length);
      for (const s of specs) expect(s.meaning.length).toBeGreaterThan(10);
    }
  });

  it('refuses two thresholds that k6 would collide', () => {
    const same = withOverrides(BASE, { abort: { storeSuccessMin: 0.999 } });
    expect(() => thresholdSpecs(same, ALL)).toThrow(/duplicate threshold message_store_success rate>=0.999/);
  });

  it('applies overrides without touching the base', () => {
    const o = withOverrides(BASE, { whole: { listP95Ms: 999 }, phases: { fault: { errorRateMax: 0.2 } } });
    expect(o.whole.listP95Ms).toBe(999);
    expect(o.whole.storeP95Ms).toBe(300);
    expect(o.phases?.fault).toEqual({ errorRateMax: 0.2 });
    expect(BASE_SLO.listP95Ms).toBe(400);
    expect(BASE).not.toHaveProperty('phases');
  });

  it('writes keys and expressions as k6 reads them', () => {
    expect(thresholdKey({ metric: 'm', tags: {} })).toBe('m');
    expect(thresholdKey({ metric: 'm', tags: { endpoint: 'x', phase: 'fault' } })).toBe('m{endpoint:x,phase:fault}');
    expect(thresholdExpression({ stat: 'p(99)', op: '<=', limit: 800 })).toBe('p(99)<=800');
  });

  it('judges observed values like k6', () => {
    expect(holds({ op: '<=', limit: 300 }, 300)).toBe(true);
    expect(holds({ op: '<', limit: 300 }, 300)).toBe(false);
    expect(holds({ op: '>=', limit: 0.999 }, 0.998)).toBe(false);
    expect(holds({ op: '>', limit: 0 }, 1)).toBe(true);
  });
});
