// The new drill figures, pure, over generated timelines and series (< 1 s): ready-but-failing spans and recovery
// to ready AND serving; relapses of a repeating stall and their threshold; fault windows sized from the client's
// settings (and the warning for a shorter --for); the per-service view and its inferred outages.
import { describe, expect, it } from 'vitest';
import { bucketize, type RequestSample } from '../../chaos/figures.js';
import { judgeFaultRelapses, judgeRelapses, relapsesOf } from '../../chaos/relapses.js';
import { judgeServing, readyAndServingAt, readyButFailing, servingFigures } from '../../chaos/drill/serving.js';
import { clientCycle, sizeFaults } from '../../chaos/drill/fault-window.js';
import { judgeOutages, serviceFaultFigures, serviceOutages, servicesBetween, type ServiceSample } from '../../chaos/service-figures.js';
import { specFromFlags } from '../../chaos/drill/spec.js';
import type { StatePoint } from '../../chaos/drill/timeline.js';

const T0 = Date.parse('2026-12-02T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const tl = (...pts: [number, boolean][]): StatePoint[] => pts.map(([s, ok]) => ({ t: at(s), ok }));
const SLO = { errorRate: 0.01, p95Ms: 500 };

describe('ready but failing', () => {
  // a node paused 5..10 s: neither ready nor serving; resumed at 10: ready at once, serving only from 15
  const ready = tl([0, true], [5, false], [10, true], [30, true]);
  const flawed = tl([0, true], [5, false], [15, true], [30, true]);
  const healthy = tl([0, true], [5, false], [10.2, true], [30, true]);

  it('spans where ready said 200 and the probe failed; the pause itself is not one', () => {
    expect(readyButFailing(ready, flawed, T0, T0 + 30_000)).toEqual([{ startMs: T0 + 10_000, endMs: T0 + 15_000 }]);
    expect(readyButFailing(ready, healthy, T0, T0 + 30_000)).toEqual([{ startMs: T0 + 10_000, endMs: T0 + 10_200 }]);
    expect(readyAndServingAt(ready, flawed, T0 + 10_000)).toBe(T0 + 15_000);
    expect(readyAndServingAt(ready, tl([0, false]), T0 + 10_000)).toBeNull();
  });

  it('figures and the threshold after heal: the flawed node breaches, the healthy one holds', () => {
    const bad = servingFigures(ready, flawed, { startMs: T0, endMs: T0 + 30_000, healAt: T0 + 10_000 });
    expect(bad).toEqual({ spans: [{ start: at(10), seconds: 5 }], afterHealS: 5, servingAfterHealS: 5 });
    expect(judgeServing('pause', 'dbman-1', bad, 1)).toEqual([
      'ready_but_failing_time{phase:recovery,fault:pause,node:dbman-1}: <=1s (observed 5s: /health/ready 200 while the serving probe failed)',
    ]);
    const good = servingFigures(ready, healthy, { startMs: T0, endMs: T0 + 30_000, healAt: T0 + 10_000 });
    expect(good.afterHealS).toBe(0.2);
    expect(judgeServing('pause', 'dbman-1', good, 1)).toEqual([]);
  });
});

/** k seconds of samples: each entry is the p95-ish latency of that second (all requests take it), 0 = no request. */
function series(ms: number[]): ReturnType<typeof bucketize> {
  const out: RequestSample[] = [];
  ms.forEach((d, s) => {
    if (d === 0) return;
    for (let i = 0; i < 10; i++) {
      const t = T0 + s * 1000 + i * 100;
      out.push({ at: t, failed: false }, { at: t, durationMs: d });
    }
  });
  return bucketize(out);
}

describe('relapses', () => {
  const W = { injectAt: T0 + 5000, healAt: T0 + 45_000 };
  it('a stall that comes back after each cooldown: the first stall is the failover, the next two are relapses', () => {
    // slow-failover's shape: stall 5 s, 10 s good, stall 5 s, 10 s good, stall 5 s, good
    const shape = [...Array(5).fill(20), ...Array(5).fill(5000), ...Array(10).fill(20), ...Array(5).fill(5000), ...Array(10).fill(20), ...Array(5).fill(5000), ...Array(10).fill(20)];
    const r = relapsesOf(series(shape), W, SLO, 3);
    expect(r).toEqual([
      { startOffsetS: 15, seconds: 5 },
      { startOffsetS: 30, seconds: 5 },
    ]);
    expect(judgeRelapses('pause', 'dbman-1', r, { maxRelapses: 0, maxRelapseS: 2 })).toEqual([
      'relapses{phase:fault,fault:pause,node:dbman-1}: <=0 longer than 2s (observed 2: 5s at +15s, 5s at +30s)',
    ]);
  });

  it('short relapses (a 1 s client timeout) are counted but within maxRelapseS; a bad run before the SLO held is not one', () => {
    const shape = [...Array(5).fill(20), 1000, 1000, ...Array(4).fill(20), 1000, ...Array(3).fill(20), 1000, 20, 1000, ...Array(30).fill(20)];
    const r = relapsesOf(series(shape), W, SLO, 3);
    // the stall at +0 is the failover; +6 follows 4 good s (a relapse); +10 follows 3 good s (one); +12 follows only 1 good s: part of the same trouble, not a new relapse
    expect(r).toEqual([
      { startOffsetS: 6, seconds: 1 },
      { startOffsetS: 10, seconds: 1 },
    ]);
    expect(judgeRelapses('pause', 'dbman-1', r, { maxRelapses: 0, maxRelapseS: 2 })).toEqual([]);
    expect(relapsesOf(series(Array(50).fill(20)), W, SLO, 3)).toEqual([]);
  });
});

describe('relapses per service', () => {
  const W = { fault: 'pause', node: 'dbman-1', injectAt: T0 + 5000, healAt: T0 + 45_000 };
  const LIMITS = { maxRelapses: 0, maxRelapseS: 2 };
  /**
   * A run of 50 s: chat 10 requests a second, session 3 fast ones a second throughout. chat stalls at +0 (the
   * failover) and again at +15 for 3 s: its requests of those seconds all end at once, a timeout later, in one bad
   * second. `orghub`: a login every 10 s (sparse).
   */
  function mixed(): ServiceSample[] {
    const out: ServiceSample[] = [];
    const req = (service: string, atMs: number, durationMs: number) => out.push({ at: atMs, service, phase: 'fault', failed: false }, { at: atMs, service, phase: 'fault', durationMs });
    for (let s = 0; s < 50; s++) {
      for (let i = 0; i < 3; i++) req('session', T0 + s * 1000 + i * 300, 15);
      if (s % 10 === 0) req('orghub', T0 + s * 1000 + 500, 40);
      const stalled = (s >= 5 && s < 8) || (s >= 20 && s < 23);
      if (stalled) continue;
      const ends = s === 8 || s === 23 ? 3000 : 20; // the stalled requests end here, a timeout after they began
      for (let i = 0; i < 10; i++) req('chat', T0 + s * 1000 + i * 100, ends);
    }
    return out;
  }

  it("a stall of one service hidden in the mixed series (others' fast requests) is a relapse of that service", () => {
    const samples = mixed();
    const all = relapsesOf(bucketize(samples), W, SLO, 3);
    // every service mixed: the stall's seconds hold session's fast requests; only the second its requests end is bad
    expect(all).toEqual([{ startOffsetS: 18, seconds: 1 }]);
    expect(judgeRelapses('pause', 'dbman-1', all, LIMITS)).toEqual([]);
    const services = serviceFaultFigures(samples, W, SLO, 3);
    expect(services.chat!.relapses).toEqual([{ startOffsetS: 15, seconds: 4 }]);
    expect(services.session!.relapses).toEqual([]);
    expect(services.orghub!.relapses).toBeUndefined(); // too sparse to be judged alone
    expect(judgeFaultRelapses({ fault: 'pause', node: 'dbman-1', relapses: all, services }, LIMITS)).toEqual([
      'relapses{phase:fault,fault:pause,node:dbman-1,service:chat}: <=0 longer than 2s (observed 1: 4s at +15s)',
    ]);
  });

  it('the mixed series still judges when no service breaches alone; a healthy run breaches nothing', () => {
    const r = [{ startOffsetS: 15, seconds: 5 }];
    expect(judgeFaultRelapses({ fault: 'pause', node: 'dbman-1', relapses: r, services: { orghub: {} } }, LIMITS)).toEqual([
      'relapses{phase:fault,fault:pause,node:dbman-1}: <=0 longer than 2s (observed 1: 5s at +15s)',
    ]);
    const healthy = mixed().filter((x) => x.service !== 'chat' || x.durationMs === undefined || x.durationMs < 3000);
    expect(judgeFaultRelapses({ fault: 'pause', node: 'dbman-1', services: serviceFaultFigures(healthy, { ...W, injectAt: T0 + 25_000 }, SLO, 3) }, LIMITS)).toEqual([]);
  });
});

describe('fault windows from the client settings', () => {
  it('the contract defaults (5000 / 3 / 10 s): a 15 s cycle, 40 s to see the stall twice more; the reference target: 20 s floor', () => {
    const real = clientCycle(undefined, 3);
    expect(real).toMatchObject({ cycleS: 20, neededS: 50, source: 'contract defaults' });
    const ref = clientCycle({ timeoutMs: 1000, failThreshold: 3, cooldownMs: 3000 }, 3);
    expect(ref).toMatchObject({ cycleS: 5, neededS: 16, source: 'target file' });
    const spec = specFromFlags({ fault: 'pause', node: 'dbman-1' });
    expect(spec.forGiven).toEqual([false]);
    expect(sizeFaults(spec.faults, spec.forGiven, real).faults[0]!.for).toBe(50);
    expect(sizeFaults(spec.faults, spec.forGiven, ref).faults[0]!.for).toBe(20);
    // a kill is not a stall: it keeps 20 s
    const kill = specFromFlags({ fault: 'kill', node: 'dbman-1' });
    expect(sizeFaults(kill.faults, kill.forGiven, real).faults[0]!.for).toBe(20);
  });

  it('a shorter --for keeps its length and warns, naming the relapse it cannot see', () => {
    const spec = specFromFlags({ fault: 'pause', node: 'dbman-1', for: '8s' });
    expect(spec.forGiven).toEqual([true]);
    const r = sizeFaults(spec.faults, spec.forGiven, clientCycle(undefined, 3));
    expect(r.faults[0]!.for).toBe(8);
    expect(r.warnings).toEqual([
      'warning: pause dbman-1 lasts 8s, shorter than the 50s the client needs to show its stall twice more (contract defaults: 2 × timeout 5000 ms + cooldown 10000 ms = a 20s cycle): the first relapse (due ~20s after inject) and the second cannot be seen',
    ]);
    const mid = specFromFlags({ fault: 'partition', node: 'dbman-1', for: '25s' });
    expect(sizeFaults(mid.faults, mid.forGiven, clientCycle(undefined, 3)).warnings[0]).toMatch(/: the second relapse \(due ~40s after inject\) cannot be seen$/);
    expect(sizeFaults(spec.faults, spec.forGiven, clientCycle({ timeoutMs: 250, failThreshold: 3, cooldownMs: 250 }, 3)).warnings).toEqual([]);
  });
});

describe('per service', () => {
  // chat: every request fails from 10 to 13 s; orghub fine throughout
  const samples: ServiceSample[] = [];
  for (let s = 0; s < 20; s++) {
    for (let i = 0; i < 4; i++) {
      const t = T0 + s * 1000 + i * 200;
      const chatFails = s >= 10 && s < 13;
      samples.push({ at: t, service: 'chat', phase: 'fault', failed: chatFails }, { at: t, service: 'chat', phase: 'fault', durationMs: chatFails ? 2 : 30 });
      samples.push({ at: t, service: 'orghub', phase: 'fault', failed: false }, { at: t, service: 'orghub', phase: 'fault', durationMs: 40 });
    }
  }
  const up = tl([0, true], [20, true]);

  it('an outage of one service while nodes were ready and serving is named, as inferred, and breaches', () => {
    const o = serviceOutages(samples, { 'dbman-1': { ready: up, serving: up }, 'dbman-2': { ready: tl([0, true], [11, false], [20, false]), serving: up } });
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({ service: 'chat', start: at(10), seconds: 3, failed: 12, healthyNodes: ['dbman-1'] });
    expect(o[0]!.inference).toMatch(/^inferred: chat's dbman client had set every endpoint aside .* while dbman-1 was ready and serving; the client's state is not observed directly\)$/);
    expect(judgeOutages(o)[0]).toMatch(/^service_outage\{service:chat\}: none \(observed: every request failed for 3s/);
    expect(servicesBetween(samples, T0 + 10_000, T0 + 13_000)).toEqual({
      chat: { requests: 12, failed: 12, errorRate: 1, p95Ms: 2 },
      orghub: { requests: 12, failed: 0, errorRate: 0, p95Ms: 40 },
    });
  });

  it('with no node ready and serving it is the nodes, not the client: listed, not judged as an outage of the client', () => {
    const down = tl([0, true], [9, false], [20, false]);
    const o = serviceOutages(samples, { 'dbman-1': { ready: down, serving: down } });
    expect(o[0]!.healthyNodes).toEqual([]);
    expect(judgeOutages(o)).toEqual([]);
  });
});
