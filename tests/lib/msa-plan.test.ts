/** The msa part's plan: when it runs, its k6 scenario, the owners' thresholds and the per-service ones per phase. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config.js';
import { msaStatusFor, OWNERS_MSA_SLO } from '../../lib/msa-plan.js';
import { msaAvailability, planFor, SCENARIO_PARTS } from '../../lib/plan.js';
import { k6Scenarios, loadDurationS, peakVus, resolveProfile } from '../../lib/profiles.js';
import { toK6Thresholds } from '../../lib/slo.js';
import { TARGET_ENV } from './helpers.js';

const ENV = TARGET_ENV;
const MSA_ENV = { ...ENV, SESSION_URL: 'http://127.0.0.1:8090', TENANTHUB_URL: 'http://127.0.0.1:8092/' };

describe('the msa part', () => {
  it('runs only with SESSION_URL and TENANTHUB_URL, and says why not', () => {
    const off = planFor(parseConfig(ENV), SCENARIO_PARTS.smoke!);
    expect(off.profile.msa).toBeUndefined();
    expect(off.specs.some((s) => s.id.startsWith('msa.'))).toBe(false);
    expect(k6Scenarios(off.profile)['msa']).toBeUndefined();
    expect(msaAvailability(parseConfig(ENV), SCENARIO_PARTS.smoke!).note).toMatch(/^msa part off: SESSION_URL and TENANTHUB_URL not set/);
    const half = parseConfig({ ...ENV, SESSION_URL: 'http://127.0.0.1:8090' });
    expect(msaAvailability(half, SCENARIO_PARTS.smoke!)).toEqual({ on: false, note: expect.stringMatching(/TENANTHUB_URL not set/) });
    // a scenario file without the part says nothing about it
    expect(msaAvailability(parseConfig(ENV), SCENARIO_PARTS.rest!)).toEqual({ on: false });

    const cfg = parseConfig(MSA_ENV);
    expect(cfg.tenanthubUrl).toBe('http://127.0.0.1:8092');
    const on = planFor(cfg, SCENARIO_PARTS.smoke!);
    expect(k6Scenarios(on.profile)['msa']).toEqual({ executor: 'constant-vus', vus: 2, duration: '20s', gracefulStop: '35s', exec: 'msaIteration' });
    expect(loadDurationS(on.profile)).toBe(20);
  });

  it('has the owners’ thresholds as defaults, besides the suite’s SLO', () => {
    const { specs } = planFor(parseConfig(MSA_ENV), SCENARIO_PARTS.smoke!);
    const k6 = toK6Thresholds(specs);
    expect(k6['http_req_failed{scenario:msa}']).toEqual(['rate<0.02']);
    expect(k6['http_req_duration{scenario:msa}']).toEqual(['p(95)<700', 'p(99)<1500']);
    expect(k6['http_req_duration{scenario:msa,service:chat,endpoint:message_store}']).toEqual(['p(95)<500', 'p(99)<1200']);
    expect(k6['http_req_duration{scenario:msa,service:session,endpoint:session_status}']).toEqual(['p(95)<500']);
    expect(k6['http_req_duration{scenario:msa,service:tenanthub,endpoint:tenants_list}']).toEqual(['p(95)<600']);
    for (const svc of ['chat', 'session', 'tenanthub']) expect(k6[`http_req_failed{scenario:msa,service:${svc}}`]).toEqual(['rate<0.02']);
    // the suite's own SLO stays on top
    expect(k6['http_req_duration{traffic:load}']).toEqual(['p(95)<=500']);
    expect(specs.find((s) => s.id === 'store_success')).toBeDefined();
  });

  it('takes SLO overrides under "msa"', () => {
    const { specs } = planFor(parseConfig({ ...MSA_ENV, SLO: '{"msa":{"tenantsP95Ms":250}}' }), SCENARIO_PARTS.smoke!);
    expect(specs.find((s) => s.id === 'msa.tenanthub.tenants_p95')?.limit).toBe(250);
    expect(specs.find((s) => s.id === 'msa.session.status_p95')?.limit).toBe(OWNERS_MSA_SLO.statusP95Ms);
    expect(() => parseConfig({ ...MSA_ENV, SLO: '{"msa":{"tenantP95":250}}' })).toThrow(ConfigError);
  });

  it('judges each service per phase in drills', () => {
    const { specs } = planFor(parseConfig({ ...MSA_ENV, FAULT_WINDOWS: '[[10,20]]' }, 'failover'), SCENARIO_PARTS.failover!);
    const k6 = toK6Thresholds(specs);
    for (const svc of ['chat', 'session', 'tenanthub']) {
      expect(k6[`http_req_failed{phase:fault,service:${svc}}`]).toEqual(['rate<=0.05']);
      expect(k6[`http_req_duration{phase:fault,service:${svc}}`]).toEqual(['p(95)<=3000']);
      expect(k6[`http_req_failed{phase:baseline,service:${svc}}`]).toEqual(['rate<=0.01']);
      expect(k6[`http_req_failed{phase:recovery,service:${svc}}`]).toEqual(['rate<=0.01']);
    }
    // orghub (setup logins, 1 in 100 REST iterations) may have no sample in a phase: no per-phase threshold for it
    expect(specs.some((s) => s.tags['service'] === 'orghub')).toBe(false);
    // the whole drill only guards with the loosened msa limits
    expect(specs.find((s) => s.id === 'msa.http_p95')?.limit).toBe(3000);
  });

  it('is in the staged profiles as ramping VUs, scaled with SCALE', () => {
    const p = resolveProfile('baseline', { scale: 100 }); // the owners' stage A: 500 VUs for 10 min
    expect(p.msa?.stages.map((s) => s.target)).toEqual([200, 500, 500, 0]);
    expect(k6Scenarios(p)['msa']).toMatchObject({ executor: 'ramping-vus', exec: 'msaIteration' });
    expect(peakVus(p)).toBeGreaterThanOrEqual(500);
  });

  it('cycles the status online, busy, away', () => {
    expect([0, 1, 2, 3, 4].map(msaStatusFor)).toEqual(['online', 'busy', 'away', 'online', 'busy']);
  });

  it('keeps SESSION_URL and TENANTHUB_URL on loopback unless ALLOW_REMOTE', () => {
    expect(() => parseConfig({ ...MSA_ENV, SESSION_URL: 'http://192.0.2.5:8090' })).toThrow(/SESSION_URL: a loopback URL/);
    expect(() => parseConfig({ ...MSA_ENV, TENANTHUB_URL: 'ftp://x' })).toThrow(/TENANTHUB_URL: the tenanthub base URL/);
    expect(parseConfig({ ...MSA_ENV, SESSION_URL: 'http://192.0.2.5:8090', ALLOW_REMOTE: '1' }).sessionUrl).toBe('http://192.0.2.5:8090');
  });
});
