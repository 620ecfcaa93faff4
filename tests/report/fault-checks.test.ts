/**
 * The faults table's "readiness / WS reconnects" column: a db-cut's readiness flip and a chat fault's WS
 * reconnects, read from drill.json through the report's own schema (the fields chaos/health-figures.ts and
 * chaos/ws-figures.ts write), and nothing for a fault that has neither.
 */
import { describe, expect, it } from 'vitest';
import { DrillFault } from '../../report/inputs.js';
import { faultChecks } from '../../report/model.js';

const base = { fault: 'db-cut', node: 'dbman-2', injectAt: '2026-11-30T22:48:34.276Z', healAt: '2026-11-30T22:48:44.271Z' };

describe('faultChecks', () => {
  it('shows a db-cut: readiness flip, liveness, readiness back and the balancer', () => {
    const f = DrillFault.parse({ ...base, dbCut: { readyFlipS: 0.05, liveStayedUp: true, readyBackS: 0.12, balancerOutS: 0.41, balancerBackS: 0.6 } });
    expect(faultChecks(f)).toBe('ready flip 0.05 s, live up throughout, ready back 0.12 s, balancer out 0.41 s / back 0.6 s');
  });

  it('says so when readiness never flipped (ready-lies) and liveness went down', () => {
    const f = DrillFault.parse({ ...base, dbCut: { readyFlipS: null, liveStayedUp: false, readyBackS: null } });
    expect(faultChecks(f)).toBe('ready flip never, live DOWN, ready back never');
  });

  it('shows a chat fault\'s WS reconnects, and a fault without either shows nothing', () => {
    const f = DrillFault.parse({ ...base, fault: 'kill', node: 'chat-1', ws: { reconnects: 16, reconnectSamples: 16, reconnectP50Ms: 147, reconnectP95Ms: 257, reconnectMaxMs: 257, missedMessages: 0 } });
    expect(faultChecks(f)).toBe('WS: 16 reconnects, p50 147 ms, p95 257 ms, max 257 ms, 0 missed');
    expect(faultChecks(DrillFault.parse({ ...base, fault: 'kill', node: 'dbman-1' }))).toBeNull();
  });

  it('shows each service’s errors and latency during the fault (chaos/service-figures.ts)', () => {
    const services = {
      chat: { requests: 120, failed: 0, errorRate: 0, p95Ms: 42, maxMs: 1040.4, longestErrorBurst: null, failoverS: 0, firstErrorOffsetS: null },
      orghub: { requests: 2, failed: 0, errorRate: 0, p95Ms: 80, maxMs: 81, longestErrorBurst: null, failoverS: null, firstErrorOffsetS: null, note: 'no requests before the fault: too sparse to time a failover' },
      session: { requests: 40, failed: 38, errorRate: 0.95, p95Ms: 1001.2, maxMs: 1003, longestErrorBurst: { seconds: 6, startOffsetS: 0, failed: 38 }, failoverS: null, firstErrorOffsetS: 0.1 },
    };
    const f = DrillFault.parse({ ...base, fault: 'pause', node: 'dbman-1', services });
    expect(faultChecks(f)).toBe(
      'chat: 0/120 failed, no errors, p95 42 ms, max 1040 ms, failover 0 s; orghub: 0/2 failed, no errors, p95 80 ms, max 81 ms, failover not timed; ' +
        'session: 38/40 failed, burst 6 s (38 failed), p95 1001 ms, max 1003 ms, failover not before heal',
    );
  });
});
