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
});
