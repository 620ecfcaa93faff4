// The figures and judgements of the fault targets added by issue 5, over synthetic series: a db-cut's readiness
// flip, liveness and readiness back (and the balancer's view), a chat fault's WS reconnects, Redis's fan-out per
// phase, and HAProxy's stats CSV. Each judgement is shown to pass on a healthy shape and to fail on a broken one
// (ready-lies: ready never flips; no reconnect samples; a slow reconnect).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inTraffic, parseHaproxyCsv, serverOf } from '../../chaos/drill/balancer.js';
import { judgeFigures } from '../../chaos/drill/judge.js';
import type { DrillFault } from '../../chaos/drill/report.js';
import { DrillSlo, DrillSpec, drillWindows, needsChatLb, needsProxy, specFromFlags, stormEnv } from '../../chaos/drill/spec.js';
import { firstAtOrAfter, heldThroughout, type StatePoint } from '../../chaos/drill/timeline.js';
import { dbCutFigures, judgeDbCut } from '../../chaos/health-figures.js';
import { judgeReconnects, reconnectFigures, wsByPhase, type WsSample } from '../../chaos/ws-figures.js';

const T0 = Date.parse('2026-11-30T22:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
/** A timeline from [second, state] pairs. */
const tl = (...pts: [number, boolean][]): StatePoint[] => pts.map(([s, ok]) => ({ t: at(s), ok }));
const SLO = DrillSlo.parse({});
const INJECT = T0 + 5000;
const HEAL = T0 + 11_000;

describe('timelines', () => {
  it('firstAtOrAfter: a state holding at the start counts at the start; a later change at its time; never is null', () => {
    const t = tl([0, true], [6.2, false], [12, true], [20, true]);
    expect(firstAtOrAfter(t, INJECT, true)).toBe(INJECT);
    expect(firstAtOrAfter(t, INJECT, false)).toBe(T0 + 6200);
    expect(firstAtOrAfter(t, T0 + 7000, true)).toBe(T0 + 12_000);
    expect(firstAtOrAfter(tl([0, true], [20, true]), INJECT, false)).toBeNull();
    expect(firstAtOrAfter([], INJECT, true)).toBeNull();
  });

  it('heldThroughout: false on any other sample inside the window, null without samples', () => {
    expect(heldThroughout(tl([0, true], [20, true]), INJECT, HEAL, true)).toBe(true);
    expect(heldThroughout(tl([0, true], [7, false], [8, true], [20, true]), INJECT, HEAL, true)).toBe(false);
    expect(heldThroughout(tl([0, false], [20, false]), INJECT, HEAL, true)).toBe(false);
    expect(heldThroughout(tl([0, true], [12, false]), INJECT, HEAL, true)).toBe(true);
    expect(heldThroughout([], INJECT, HEAL, true)).toBeNull();
  });
});

describe('db-cut figures and judgement', () => {
  const healthy = { ready: tl([0, true], [6.3, false], [11.5, true], [25, true]), live: tl([0, true], [25, true]) };

  it('a healthy node: not ready 1.3 s after inject, live throughout, ready 0.5 s after heal; the thresholds hold', () => {
    const f = dbCutFigures({ injectAt: INJECT, healAt: HEAL }, healthy);
    expect(f).toEqual({ readyFlipS: 1.3, liveStayedUp: true, readyBackS: 0.5 });
    expect(judgeDbCut('dbman-1', f, SLO)).toEqual([]);
  });

  it('ready-lies: ready never flips, which breaches ready_flip_time', () => {
    const f = dbCutFigures({ injectAt: INJECT, healAt: HEAL }, { ready: tl([0, true], [25, true]), live: healthy.live });
    expect(f.readyFlipS).toBeNull();
    expect(judgeDbCut('dbman-1', f, SLO)).toEqual([
      'ready_flip_time{phase:fault,fault:db-cut,node:dbman-1}: <=5s (observed /health/ready never turned not-ready before heal)',
    ]);
  });

  it('a slow flip, a liveness that drops, a node that never comes back each breach their threshold', () => {
    const f = dbCutFigures(
      { injectAt: INJECT, healAt: HEAL },
      { ready: tl([0, true], [10.5, false], [25, false]), live: tl([0, true], [8, false], [9, true], [25, true]) },
    );
    expect(f).toEqual({ readyFlipS: 5.5, liveStayedUp: false, readyBackS: null });
    const b = judgeDbCut('dbman-2', f, SLO);
    expect(b.map((x) => x.split(':')[0])).toEqual(['ready_flip_time{phase', 'live_up{phase', 'ready_back_time{phase']);
    expect(b[0]).toMatch(/<=5s \(observed 5\.5s\)/);
    // a liveness never polled is "no samples", a failure
    expect(judgeDbCut('dbman-2', { ...f, liveStayedUp: null }, SLO)[1]).toMatch(/observed no samples/);
  });

  it('the balancer: out 2.5 s after inject, back 1 s after heal; never out is null', () => {
    const f = dbCutFigures({ injectAt: INJECT, healAt: HEAL }, { ...healthy, balancer: tl([0, true], [7.5, false], [12, true], [25, true]) });
    expect(f.balancerOutS).toBe(2.5);
    expect(f.balancerBackS).toBe(1);
    const lies = dbCutFigures({ injectAt: INJECT, healAt: HEAL }, { ...healthy, balancer: tl([0, true], [25, true]) });
    expect(lies.balancerOutS).toBeNull();
    expect(lies.balancerBackS).toBeNull();
  });

  it('judgeFigures applies them to a db-cut, and a db-cut without timelines fails', () => {
    const base: DrillFault = { fault: 'db-cut', node: 'dbman-1', plannedAtS: 5, plannedForS: 6, failoverS: 0, recoveryS: 1 };
    expect(judgeFigures([{ ...base, dbCut: dbCutFigures({ injectAt: INJECT, healAt: HEAL }, healthy) }], SLO)).toEqual([]);
    expect(judgeFigures([base], SLO)).toHaveLength(3);
  });
});

/** Reconnect samples: one counter and one time per reconnect, at the given seconds after T0. */
function reconnects(...pts: [number, number][]): WsSample[] {
  return pts.flatMap(([s, ms]) => [
    { metric: 'ws_reconnects', at: T0 + s * 1000, value: 1, phase: 'fault' },
    { metric: 'ws_reconnect_ms', at: T0 + s * 1000, value: ms, phase: 'fault' },
  ]);
}

describe('WS figures and judgement', () => {
  it('reconnect figures count only the window; p50/p95/max of the reconnect times; missed messages summed', () => {
    const samples = [
      ...reconnects([2, 9999]),
      ...reconnects(...Array.from({ length: 20 }, (_, i) => [5.5, 100 * (i + 1)] as [number, number])),
      { metric: 'ws_missed_messages', at: T0 + 6000, value: 3, phase: 'fault' },
      { metric: 'ws_missed_messages', at: T0 + 7000, value: 2, phase: 'fault' },
      ...reconnects([30, 9999]),
    ];
    const r = reconnectFigures(samples, INJECT, T0 + 20_000);
    expect(r).toEqual({ reconnects: 20, reconnectSamples: 20, reconnectP50Ms: 1000, reconnectP95Ms: 1900, reconnectMaxMs: 2000, missedMessages: 5 });
    expect(judgeReconnects('kill', 'chat-1', r, 5000)).toEqual([]);
    expect(judgeReconnects('kill', 'chat-1', r, 1500)).toEqual(['ws_reconnect_p95{phase:fault,fault:kill,node:chat-1}: <=1500ms (observed 1900ms)']);
  });

  it('no samples is its own state and fails the chat fault (never a silent pass)', () => {
    const r = reconnectFigures([], INJECT, Infinity);
    expect(r).toEqual({ reconnects: 0, reconnectSamples: 0, reconnectP50Ms: null, reconnectP95Ms: null, reconnectMaxMs: null, missedMessages: 0 });
    const b = judgeReconnects('kill', 'chat-1', r, 5000);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatch(/^ws_reconnects\{phase:fault,fault:kill,node:chat-1\}: >0 \(observed no samples/);
    const f: DrillFault = { fault: 'kill', node: 'chat-1', plannedAtS: 5, plannedForS: 6, failoverS: 0, recoveryS: 0, ws: r };
    expect(judgeFigures([f], SLO)).toEqual(b);
  });

  it('per phase: fan-out p95 and delivery ratio, baseline vs fault vs recovery (a Redis slowdown)', () => {
    const fan = (phase: string, ms: number, n: number, lost = 0): WsSample[] =>
      Array.from({ length: n }, (_, i) => [
        { metric: 'ws_fanout_latency', at: T0 + i, value: ms + (i % 10), phase },
        { metric: 'ws_fanout_delivery', at: T0 + i, value: i < lost ? 0 : 1, phase },
      ]).flat();
    const p = wsByPhase([...fan('baseline', 10, 100), ...fan('fault', 400, 100, 2), ...fan('recovery', 12, 50)]);
    expect(p.baseline).toMatchObject({ fanoutSamples: 100, fanoutP95Ms: 19, deliveryRatio: 1, reconnects: 0 });
    expect(p.fault).toMatchObject({ fanoutSamples: 100, fanoutP95Ms: 409, deliverySamples: 100, deliveryRatio: 0.98 });
    expect(p.recovery!.fanoutP95Ms).toBe(21);
    expect(p.fault).toMatchObject({ publisherSlots: 0, publisherSkipped: 0 });
    expect(wsByPhase([]).fault).toBeUndefined();
    // the hot-room publishers' slots per phase: the fault phase's fan-out figures rest on the messages sent
    const slots = (phase: string, sent: number, skipped: number): WsSample[] =>
      [...Array(sent).fill(0), ...Array(skipped).fill(1)].map((value, i) => ({ metric: 'hot_room_sends_skipped', at: T0 + i, value, phase }));
    const q = wsByPhase([...slots('baseline', 10, 0), ...slots('fault', 4, 6)]);
    expect(q.baseline).toMatchObject({ publisherSlots: 10, publisherSkipped: 0 });
    expect(q.fault).toMatchObject({ publisherSlots: 10, publisherSkipped: 6 });
  });
});

describe('HAProxy stats CSV', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,addr,',
    'dbman,FRONTEND,,,0,1,2000,3,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,,,,',
    'dbman,dbman-1,0,0,0,1,,3,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,3,3,,1,2,1,,3,,2,0,,1,L7STS,503,1,0,127.0.0.1:41001,',
    'dbman,dbman-2,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP 1/3,1,1,0,0,0,9,0,,1,2,2,,3,,2,0,,1,L7OK,200,1,0,127.0.0.1:41002,',
    'dbman,srv3,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,9,0,,1,2,3,,3,,2,0,,1,L7OK,200,1,0,127.0.0.1:41003,',
    'dbman,BACKEND,0,0,0,1,200,3,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,9,0,,1,2,0,,3,,1,0,,1,,,,0,,',
  ].join('\n');

  it('gives the server rows; UP (and UP 1/3) is in traffic; a node is found by name, else by address', () => {
    const servers = parseHaproxyCsv(csv);
    expect(servers.map((s) => [s.server, s.status, inTraffic(s.status)])).toEqual([
      ['dbman-1', 'DOWN', false],
      ['dbman-2', 'UP 1/3', true],
      ['srv3', 'UP', true],
    ]);
    expect(serverOf(servers, { name: 'dbman-1', url: 'http://127.0.0.1:9', faults: {} })!.server).toBe('dbman-1');
    expect(serverOf(servers, { name: 'dbman-3', url: 'http://127.0.0.1:41003', faults: {} })!.server).toBe('srv3');
    expect(inTraffic('MAINT')).toBe(false);
    expect(() => parseHaproxyCsv('<html>')).toThrow(/not HAProxy stats CSV/);
  });
});

describe('drill file examples (chaos/drills/)', () => {
  it('all parse; the chat kill needs the chat balancer, the redis slowdown and the db-cut need proxies', () => {
    const dir = join(import.meta.dirname, '../../chaos/drills');
    const specs = Object.fromEntries(readdirSync(dir).map((f) => [f, specFromFlags({ file: join(dir, f) })]));
    expect(needsChatLb(specs['chat-kill.yaml']!)).toBe(true);
    // session-N / tenanthub-N exist in the chat-LB topology only (two of each behind their balancers)
    expect(needsChatLb(specs['session-kill.yaml']!)).toBe(true);
    expect(needsChatLb({ faults: [{ fault: 'kill', node: 'session', at: 1, for: 1 }] } as never)).toBe(false);
    expect(needsProxy(specs['redis-slow.yaml']!)).toBe(true);
    expect(specs['db-cut.yaml']!).toMatchObject({ slo: { maxReadyFlipS: 5 }, faults: [{ fault: 'db-cut', node: 'dbman-2' }] });
    expect(needsProxy(specs['db-cut.yaml']!)).toBe(true);
    // the storm: no node faulted, its window the one fault window, STORM for k6 with that window
    const storm = specs['bad-request-storm.yaml']!;
    expect(storm).toMatchObject({ faults: [], storm: { rate: 20, burst: 3, at: 5, for: 20 }, durationS: 37 });
    expect(drillWindows(storm)).toEqual([[5, 25]]);
    expect(JSON.parse(stormEnv(storm.storm!))).toEqual({ rate: 20, at: 5, for: 20, burst: 3 });
  });

  it('a storm beside faults: the windows merge where they overlap; neither faults nor a storm is refused', () => {
    const spec = DrillSpec.parse({ faults: [{ fault: 'kill', node: 'dbman-1', at: 10, for: 5 }, { fault: 'kill', node: 'dbman-2', at: 30, for: 5 }], storm: { rate: 5, at: 12, for: 10 } });
    expect(drillWindows(spec)).toEqual([[10, 22], [30, 35]]);
    expect(DrillSpec.safeParse({}).error?.issues[0]?.message).toBe('at least one fault (or slowConsumers, or a storm)');
    expect(DrillSpec.safeParse({ storm: { rate: 5, at: 0 } }).error?.issues[0]?.path).toEqual(['storm', 'at']);
  });
});
