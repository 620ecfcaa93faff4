import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { planFor, SCENARIO_PARTS, sloFor } from '../../lib/plan.js';
import { loadDurationS, PROFILES } from '../../lib/profiles.js';
import { toK6Thresholds } from '../../lib/slo.js';
import { TARGET_ENV } from './helpers.js';

const ENV = TARGET_ENV;

describe('plan of a run', () => {
  it('judges the failover profile per phase only when there are fault windows', () => {
    const withWindows = planFor(parseConfig({ ...ENV, FAULT_WINDOWS: '[[20,40]]' }, 'failover'), SCENARIO_PARTS.failover!);
    const ids = withWindows.specs.map((s) => s.id);
    expect(ids.filter((i) => i.startsWith('fault.'))).toHaveLength(5);
    expect(ids.filter((i) => i.startsWith('recovery.'))).toHaveLength(4);
    expect(toK6Thresholds(withWindows.specs)['http_req_duration{traffic:load}']).toEqual(['p(95)<=3000']);

    const without = planFor(parseConfig(ENV, 'failover'), SCENARIO_PARTS.failover!);
    expect(without.specs.some((s) => s.phase !== undefined)).toBe(false);
    // everything is baseline: the baseline phase's limits judge the whole run
    const k6 = toK6Thresholds(without.specs);
    expect(k6['http_req_duration{traffic:load}']).toEqual(['p(95)<=500']);
    expect(k6.message_store_latency).toEqual(['p(95)<=300', 'p(99)<=6000']);
    expect(k6['http_req_failed{traffic:load}']?.[0]).toBe('rate<=0.01');
  });

  it('keeps only the parts of a scenario file', () => {
    const p = planFor(parseConfig({ ...ENV, PROFILE: 'stage1' }), SCENARIO_PARTS.ws!);
    expect(p.profile.rest).toBeUndefined();
    expect(p.profile.hotRoom).toBeUndefined();
    expect(p.specs.map((s) => s.metric)).not.toContain('http_req_failed');
  });

  it('applies DURATION and SCALE from the environment', () => {
    const p = planFor(parseConfig({ ...ENV, DURATION: '90s', SCALE: '0.5' }, 'failover'), SCENARIO_PARTS.failover!);
    expect(loadDurationS(p.profile)).toBe(90);
    expect(p.profile.rest!.stages[0]!.target).toBe(10);
  });

  it('applies SLO overrides from the environment over the profile', () => {
    const cfg = parseConfig({ ...ENV, FAULT_WINDOWS: '[[5,10]]', SLO: '{"whole":{"listP95Ms":700},"phases":{"fault":{"httpP95Ms":6000}},"abort":{"delayS":30}}' }, 'failover');
    const k6 = toK6Thresholds(planFor(cfg, SCENARIO_PARTS.failover!).specs);
    expect(k6['http_req_duration{endpoint:message_list}']).toEqual(['p(95)<=700']);
    expect(k6['http_req_duration{phase:fault}']).toEqual(['p(95)<=6000']);
    expect(k6['http_req_failed{phase:fault}']).toEqual(['rate<=0.05']);
    expect(k6['http_req_failed{traffic:load}']?.[1]).toEqual({ threshold: 'rate<=0.5', abortOnFail: true, delayAbortEval: '30s' });
    expect(PROFILES.failover.slo.phases?.fault?.httpP95Ms).toBe(3000);
  });

  it('leaves SLO sets without phases alone', () => {
    expect(sloFor(PROFILES.smoke.slo, false)).toBe(PROFILES.smoke.slo);
    expect(sloFor(PROFILES.failover.slo, true)).toBe(PROFILES.failover.slo);
  });
});
