/**
 * Load profiles: smoke, the owners' staged plan (baseline, stage1, stage2, stage3 = 100k) and failover.
 * PURE (no k6, no Node): the arithmetic (peak VUs, sockets, rates, durations, scaling) is unit-tested from Node,
 * and `k6Scenarios` emits plain k6 scenario objects. Every executor used (constant/ramping-arrival-rate,
 * ramping-vus, per-vu-iterations) is split cleanly by k6 execution segments (issue 8).
 *
 * "Users" in the contract's stage table are concurrent users: here, open room sockets of the `ws` part, while
 * each user also makes one REST iteration (post a message + list the room) every 20 s on average.
 */
import { BASE_ABORT, BASE_SLO, withOverrides, type Parts, type SloSet } from './slo.js';
import { k6Duration } from './duration.js';
import { DEFAULT_RECONNECT, type ReconnectPolicy } from './reconnect.js';
import { MSA_SCENARIO, msaDurationS, msaK6Scenario, msaPeakVus, msaWithDuration, scaleMsa, type MsaPart } from './msa-plan.js';
import type { BurstPattern } from './send-pattern.js';
import type { ProfileName } from './types.js';

/** The names live in `lib/types.ts` (shared with `config.ts` and `suite.ts`); re-exported for the Node side. */
export { PROFILE_NAMES, type ProfileName } from './types.js';

export interface Stage {
  durationS: number;
  /** iterations per second (REST) or VUs (WS). */
  target: number;
}

/** REST: an open model (arrival rate), so slow responses cannot hide load. */
export interface RestPart {
  /** iterations per second at the start of the first stage. */
  startRate: number;
  stages: Stage[];
  preAllocatedVUs: number;
  maxVUs: number;
  /** per-request timeout. */
  timeoutS: number;
}

/** WS: each VU holds `socketsPerVu` room sockets for a session, sending from each, one message in flight. */
export interface WsPart {
  /** hold: `vus` VUs, one session over the whole duration; ramp: ramping-vus over `stages`, sessions repeat. */
  mode: 'hold' | 'ramp';
  vus: number;
  stages: Stage[];
  socketsPerVu: number;
  sessionS: number;
  sendIntervalS: number;
  ackTimeoutS: number;
  /** Some scheduled sends start a burst of messages sent back to back (lib/send-pattern.ts): reveals reordering. */
  burst: BurstPattern;
  /** After every Nth acknowledged message a socket repeats its client_msg_id (lib/idempotency.ts); 0 = never. */
  repeatEvery: number;
}

/** Hot room: every VU holds 1 publisher + `subscribersPerVu` subscribers, all in the one hot room. */
export interface HotRoomPart {
  vus: number;
  subscribersPerVu: number;
  messagesPerPublisher: number;
  sendIntervalS: number;
  /** wait for fan-out after the last acknowledgement before judging delivery. */
  graceS: number;
  ackTimeoutS: number;
  /** retries of a message (same client_msg_id) after an error frame or an echo timeout. */
  maxRetries: number;
  /** The publisher repeats the client_msg_id of every Nth acknowledged message (lib/idempotency.ts); 0 = never. */
  repeatEvery: number;
}

/**
 * What the integrity check (integrity/) holds a run of this profile to, beyond "none lost, none stored twice":
 * rate targets judge the 95 % upper bound (a run too small to show the rate is below the target is
 * "insufficient evidence", a failure); `reorderedMax` is the per-sender order inversions allowed.
 */
export interface IntegrityTargets {
  lostRateMax?: number;
  duplicateRateMax?: number;
  undeliveredRateMax?: number;
  reorderedMax: number;
}

export interface Profile {
  name: ProfileName;
  description: string;
  rest?: RestPart;
  ws?: WsPart;
  hotRoom?: HotRoomPart;
  /** The owners' MSA iteration (chat, session, tenanthub; lib/msa-plan.ts); runs only when SESSION_URL and TENANTHUB_URL are set. */
  msa?: MsaPart;
  /** extra users created (and logged in once) in setup; REST posts and sockets rotate over them. */
  userPool: number;
  restRooms: number;
  wsRooms: number;
  slo: SloSet;
  setupTimeoutS: number;
  /** How every room socket (ws part and hot room) reconnects after an unplanned close (lib/reconnect.ts). */
  reconnect: ReconnectPolicy;
  integrity: IntegrityTargets;
}

/** The smoke's and the drills' integrity targets: no rate target (the bound is reported), no reordering. */
export const NO_RATE_TARGETS: IntegrityTargets = { reorderedMax: 0 };
/**
 * The stage profiles' targets: the owners' store-success SLO (99.9 %) read as "at most 0.1 % of messages lost,
 * stored twice or undelivered", shown with 95 % confidence.
 */
export const STAGE_TARGETS: IntegrityTargets = { lostRateMax: 0.001, duplicateRateMax: 0.001, undeliveredRateMax: 0.001, reorderedMax: 0 };

const BASE: SloSet = { whole: BASE_SLO, abort: BASE_ABORT };

/** The contract's 4-step shape: ramp to the low end, climb to the high end, hold, ramp down. */
function shape(low: number, high: number, [up, climb, hold, down]: [number, number, number, number]): Stage[] {
  return [
    { durationS: up, target: low },
    { durationS: climb, target: high },
    { durationS: hold, target: high },
    { durationS: down, target: 0 },
  ];
}

function stageProfile(
  name: ProfileName,
  description: string,
  users: [number, number],
  steps: [number, number, number, number],
  socketsPerVu: number,
  hot: { vus: number; subs: number },
  pools: { users: number; restRooms: number; wsRooms: number },
  slo: SloSet,
): Profile {
  const [low, high] = users;
  const restLow = low / 20;
  const restHigh = high / 20;
  const totalS = steps.reduce((a, b) => a + b, 0);
  const hotSpanS = totalS - 30;
  return {
    name,
    description,
    rest: {
      startRate: 0,
      stages: shape(restLow, restHigh, steps),
      preAllocatedVUs: Math.ceil(restHigh * 0.5) + 2,
      maxVUs: Math.ceil(restHigh * 3) + 5,
      timeoutS: 15,
    },
    ws: {
      mode: 'ramp',
      vus: 0,
      stages: shape(Math.ceil(low / socketsPerVu), Math.ceil(high / socketsPerVu), steps),
      socketsPerVu,
      sessionS: 60,
      sendIntervalS: 10,
      ackTimeoutS: 10,
      burst: { every: 6, size: 3 },
      repeatEvery: 20,
    },
    hotRoom: {
      vus: hot.vus,
      subscribersPerVu: hot.subs,
      messagesPerPublisher: Math.max(1, Math.floor(hotSpanS / 2)),
      sendIntervalS: 2,
      graceS: 5,
      ackTimeoutS: 10,
      maxRetries: 2,
      repeatEvery: 20,
    },
    // the owners' MSA iteration alongside, as looping VUs: one per 100 of the stage's users (each loops every
    // ~0.3 s, ~3 requests: a hundredth of the users adds about as many requests as the REST part). Their own stage A,
    // 500 VUs for 10 min, is the msa scenario file alone with PROFILE=baseline SCALE=100 (200 → 500 VUs)
    msa: {
      mode: 'ramp',
      vus: 0,
      durationS: 0,
      stages: shape(Math.ceil(low / 100), Math.ceil(high / 100), steps),
      sleepS: 0.2,
      timeoutS: 15,
    },
    userPool: pools.users,
    restRooms: pools.restRooms,
    wsRooms: pools.wsRooms,
    slo,
    setupTimeoutS: 60 + pools.users + Math.ceil((pools.restRooms + pools.wsRooms) / 20),
    reconnect: DEFAULT_RECONNECT,
    integrity: STAGE_TARGETS,
  };
}

/** The contract's stage table: users low→high, durations of the four steps, sockets per VU, hot room, pools. */
const STAGES: ReadonlyArray<{
  name: 'baseline' | 'stage1' | 'stage2' | 'stage3';
  description: string;
  users: [number, number];
  steps: [number, number, number, number];
  socketsPerVu: number;
  hot: { vus: number; subs: number };
  pools: { users: number; restRooms: number; wsRooms: number };
  whole: Partial<SloSet['whole']>;
}> = [
  { name: 'baseline', description: 'stage 0: 200-500 users for 10 min (errors < 1 %, p95 < 500 ms)', users: [200, 500], steps: [60, 240, 240, 60], socketsPerVu: 10, hot: { vus: 5, subs: 20 }, pools: { users: 20, restRooms: 20, wsRooms: 50 }, whole: { errorRateMax: 0.01, httpP95Ms: 500 } },
  { name: 'stage1', description: 'stage 1: 2,000-5,000 users for 20 min (errors < 1 %, p95 < 400 ms)', users: [2000, 5000], steps: [120, 480, 480, 120], socketsPerVu: 10, hot: { vus: 10, subs: 50 }, pools: { users: 50, restRooms: 100, wsRooms: 250 }, whole: { errorRateMax: 0.01, httpP95Ms: 400 } },
  { name: 'stage2', description: 'stage 2: 10,000-20,000 users for 25 min (errors < 1.5 %, p95 < 400 ms, p99 < 1 s)', users: [10000, 20000], steps: [180, 600, 600, 120], socketsPerVu: 20, hot: { vus: 20, subs: 100 }, pools: { users: 100, restRooms: 500, wsRooms: 1000 }, whole: { errorRateMax: 0.015, httpP95Ms: 400, httpP99Ms: 1000 } },
  { name: 'stage3', description: 'stage 3: 50,000-100,000 users for 30 min over several load generators (SLO met)', users: [50000, 100000], steps: [300, 600, 720, 180], socketsPerVu: 50, hot: { vus: 50, subs: 200 }, pools: { users: 200, restRooms: 1000, wsRooms: 2000 }, whole: { errorRateMax: 0.015, httpP95Ms: 400, httpP99Ms: 1000 } },
];

function stageProfiles(): Record<(typeof STAGES)[number]['name'], Profile> {
  const out = {} as Record<(typeof STAGES)[number]['name'], Profile>;
  for (const s of STAGES) {
    out[s.name] = stageProfile(s.name, s.description, s.users, s.steps, s.socketsPerVu, s.hot, s.pools, withOverrides(BASE, { whole: s.whole }));
  }
  return out;
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  smoke: {
    name: 'smoke',
    description: 'rest, ws, hot room and (with SESSION_URL and TENANTHUB_URL) msa briefly (about 25 s of load), sized for a 2-core machine',
    rest: { startRate: 4, stages: [{ durationS: 20, target: 4 }], preAllocatedVUs: 4, maxVUs: 20, timeoutS: 10 },
    ws: { mode: 'hold', vus: 2, stages: [], socketsPerVu: 3, sessionS: 20, sendIntervalS: 1, ackTimeoutS: 5, burst: { every: 4, size: 3 }, repeatEvery: 10 },
    hotRoom: { vus: 2, subscribersPerVu: 4, messagesPerPublisher: 15, sendIntervalS: 1, graceS: 2, ackTimeoutS: 5, maxRetries: 1, repeatEvery: 10 },
    msa: { mode: 'hold', vus: 2, durationS: 20, stages: [], sleepS: 0.2, timeoutS: 10 },
    userPool: 4,
    restRooms: 2,
    wsRooms: 2,
    slo: BASE,
    setupTimeoutS: 60,
    reconnect: DEFAULT_RECONNECT,
    integrity: NO_RATE_TARGETS,
  },
  ...stageProfiles(),
  failover: {
    name: 'failover',
    description: 'REST + WS + hot room at a steady rate for DURATION (default 60 s), judged per phase of FAULT_WINDOWS',
    rest: { startRate: 20, stages: [{ durationS: 60, target: 20 }], preAllocatedVUs: 20, maxVUs: 150, timeoutS: 15 },
    ws: { mode: 'hold', vus: 4, stages: [], socketsPerVu: 5, sessionS: 60, sendIntervalS: 1, ackTimeoutS: 10, burst: { every: 5, size: 3 }, repeatEvery: 10 },
    hotRoom: { vus: 2, subscribersPerVu: 5, messagesPerPublisher: 55, sendIntervalS: 1, graceS: 3, ackTimeoutS: 10, maxRetries: 2, repeatEvery: 10 },
    msa: { mode: 'hold', vus: 2, durationS: 60, stages: [], sleepS: 0.2, timeoutS: 15 },
    userPool: 6,
    restRooms: 4,
    wsRooms: 4,
    slo: withOverrides(BASE, {
      // The whole run mixes every phase: it only guards against what no phase may do; each phase is judged by its
      // own limits below (and without FAULT_WINDOWS the baseline limits judge the whole run).
      whole: {
        storeSuccessMin: 0.98,
        storeP95Ms: 3000,
        storeP99Ms: 6000,
        listP95Ms: 3000,
        httpP95Ms: 3000,
        errorRateMax: 0.02,
        wsDeliveryP95Ms: 3000,
        fanoutP95Ms: 3000,
        fanoutDeliveryMin: 0.98,
        wsSessionOkMin: 0.95,
        // a frozen node holds a send for the client timeout: the next scheduled send of that socket is skipped
        wsSendsSkippedMax: 0.1,
      },
      phases: {
        baseline: { errorRateMax: 0.01, httpP95Ms: 500, storeSuccessMin: 0.999, storeP95Ms: 300 },
        fault: { errorRateMax: 0.05, httpP95Ms: 3000, storeSuccessMin: 0.95, storeP95Ms: 3000, wsDeliveryP95Ms: 3000 },
        recovery: { errorRateMax: 0.01, httpP95Ms: 500, storeSuccessMin: 0.99, storeP95Ms: 500 },
      },
      // the msa part over a whole drill (every phase mixed) only guards like `whole`; its services are judged per
      // phase by the phase limits above (msaThresholdSpecs)
      msa: { errorRateMax: 0.02, httpP95Ms: 3000, httpP99Ms: 6000, messageP95Ms: 3000, messageP99Ms: 6000, statusP95Ms: 3000, tenantsP95Ms: 3000 },
    }),
    setupTimeoutS: 60,
    reconnect: DEFAULT_RECONNECT,
    integrity: NO_RATE_TARGETS,
  },
};

export function getProfile(name: ProfileName): Profile {
  return PROFILES[name];
}

export function partsOf(p: Profile): Parts {
  return { rest: p.rest !== undefined, ws: p.ws !== undefined, hotRoom: p.hotRoom !== undefined, msa: p.msa !== undefined };
}

/** Keeps only the given parts (rest.ts runs only the REST part of a profile, etc.). */
export function selectParts(p: Profile, keep: Partial<Parts>): Profile {
  const out: Profile = { ...p };
  if (!keep.rest) delete out.rest;
  if (!keep.ws) delete out.ws;
  if (!keep.hotRoom) delete out.hotRoom;
  if (!keep.msa) delete out.msa;
  return out;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Whole seconds or a count scaled by f, never below `min` when the original was above 0. */
function scaleCount(n: number, f: number, min = 1): number {
  if (n <= 0) return 0;
  return Math.max(min, Math.round(n * f));
}

/** Rates stay fractional (k6 gets them per minute when not whole); counts round, never to 0. */
export function scaleProfile(p: Profile, f: number): Profile {
  if (!(f > 0) || !Number.isFinite(f)) throw new RangeError(`scale factor must be > 0, got ${f}`);
  if (f === 1) return p;
  const out: Profile = { ...p };
  if (p.rest) {
    const r = p.rest;
    out.rest = {
      ...r,
      startRate: r.startRate * f,
      stages: r.stages.map((s) => ({ ...s, target: s.target * f })),
      preAllocatedVUs: scaleCount(r.preAllocatedVUs, f),
      maxVUs: Math.max(scaleCount(r.maxVUs, f), scaleCount(r.preAllocatedVUs, f)),
    };
  }
  if (p.ws) {
    const w = p.ws;
    out.ws = { ...w, vus: scaleCount(w.vus, f), stages: w.stages.map((s) => ({ ...s, target: scaleCount(s.target, f) })) };
  }
  if (p.hotRoom) out.hotRoom = { ...p.hotRoom, vus: scaleCount(p.hotRoom.vus, f) };
  if (p.msa) out.msa = scaleMsa(p.msa, f);
  return out;
}

/** Sets the load duration: hold profiles run that long; staged profiles stretch every stage proportionally. */
export function withDuration(p: Profile, durationS: number): Profile {
  if (!(durationS > 0)) throw new RangeError(`duration must be > 0, got ${durationS}`);
  const out: Profile = { ...p };
  const current = loadDurationS(p);
  const k = durationS / current;
  const stretch = (st: Stage[]): Stage[] => st.map((s) => ({ ...s, durationS: Math.max(1, Math.round(s.durationS * k)) }));
  if (p.rest) out.rest = { ...p.rest, stages: stretch(p.rest.stages) };
  if (p.ws) {
    // ramp: sessions repeat; a shortened run gets shorter sessions so ramp-down does not wait for long ones.
    out.ws =
      p.ws.mode === 'hold'
        ? { ...p.ws, sessionS: durationS }
        : { ...p.ws, stages: stretch(p.ws.stages), sessionS: Math.min(p.ws.sessionS, Math.max(10, Math.round(durationS / 6))) };
  }
  if (p.hotRoom) {
    const h = p.hotRoom;
    const span = Math.max(h.sendIntervalS, durationS - h.graceS - 2);
    out.hotRoom = { ...h, messagesPerPublisher: Math.max(1, Math.floor(span / h.sendIntervalS)) };
  }
  if (p.msa) out.msa = msaWithDuration(p.msa, durationS);
  return out;
}

/** Applies SCALE, DURATION and USER_POOL to a named profile. */
export function resolveProfile(
  name: ProfileName,
  opts: { scale?: number; durationS?: number | undefined; userPool?: number | undefined } = {},
): Profile {
  let p = getProfile(name);
  if (opts.durationS !== undefined) p = withDuration(p, opts.durationS);
  if (opts.scale !== undefined && opts.scale !== 1) p = scaleProfile(p, opts.scale);
  if (opts.userPool !== undefined) p = { ...p, userPool: opts.userPool };
  return p;
}

// ---------------------------------------------------------------------------------------------- arithmetic

export function restDurationS(r: RestPart): number {
  return sum(r.stages.map((s) => s.durationS));
}

/** Hot room: time the one session of each VU takes (open, publish, grace). */
export function hotRoomDurationS(h: HotRoomPart): number {
  return 2 + h.messagesPerPublisher * h.sendIntervalS + h.graceS;
}

/**
 * Hot room: how long a publisher stays after its schedule ends (its last message due): the message in flight
 * gets one ack timeout (a retry it needs then is not waited for: its outcome is unknown, as an interrupted
 * send's), so a room whose echoes stopped ends its run near the planned end instead of retrying every message.
 */
export function hotRoomTailMs(h: HotRoomPart): number {
  return h.ackTimeoutS * 1000 + 2000;
}

export function wsDurationS(w: WsPart): number {
  return w.mode === 'hold' ? w.sessionS : sum(w.stages.map((s) => s.durationS));
}

/** Planned load duration: the longest part. */
export function loadDurationS(p: Profile): number {
  return Math.max(
    p.rest ? restDurationS(p.rest) : 0,
    p.ws ? wsDurationS(p.ws) : 0,
    p.hotRoom ? hotRoomDurationS(p.hotRoom) : 0,
    p.msa ? msaDurationS(p.msa) : 0,
  );
}

export function peakRestRate(p: Profile): number {
  if (!p.rest) return 0;
  return Math.max(p.rest.startRate, ...p.rest.stages.map((s) => s.target));
}

/** REST iterations over the whole profile (linear ramps between stage targets, as k6 does). */
export function restIterations(p: Profile): number {
  if (!p.rest) return 0;
  let prev = p.rest.startRate;
  let total = 0;
  for (const s of p.rest.stages) {
    total += ((prev + s.target) / 2) * s.durationS;
    prev = s.target;
  }
  return total;
}

export function peakWsVus(p: Profile): number {
  if (!p.ws) return 0;
  return p.ws.mode === 'hold' ? p.ws.vus : Math.max(0, ...p.ws.stages.map((s) => s.target));
}

/** Most VUs k6 may run at once: REST maxVUs + WS VUs + hot room VUs + msa VUs. */
export function peakVus(p: Profile): number {
  return (p.rest?.maxVUs ?? 0) + peakWsVus(p) + (p.hotRoom?.vus ?? 0) + (p.msa ? msaPeakVus(p.msa) : 0);
}

/** Most room sockets open at once ("concurrent users"). */
export function peakSockets(p: Profile): number {
  const ws = peakWsVus(p) * (p.ws?.socketsPerVu ?? 0);
  const hot = p.hotRoom ? p.hotRoom.vus * (1 + p.hotRoom.subscribersPerVu) : 0;
  return ws + hot;
}

export interface ProfileFigures {
  name: ProfileName;
  loadDurationS: number;
  peakVus: number;
  peakSockets: number;
  peakRestRate: number;
  restIterations: number;
  hotRoomSubscribers: number;
  hotRoomMessages: number;
}

export function figures(p: Profile): ProfileFigures {
  return {
    name: p.name,
    loadDurationS: loadDurationS(p),
    peakVus: peakVus(p),
    peakSockets: peakSockets(p),
    peakRestRate: peakRestRate(p),
    restIterations: Math.round(restIterations(p)),
    hotRoomSubscribers: p.hotRoom ? p.hotRoom.vus * p.hotRoom.subscribersPerVu : 0,
    hotRoomMessages: p.hotRoom ? p.hotRoom.vus * p.hotRoom.messagesPerPublisher : 0,
  };
}

// ---------------------------------------------------------------------------------------------- k6 scenarios

/** One k6 time unit fine enough for every rate (per second) of a scenario: 1s if all are whole, else 1m, else 1h. */
export function rateTimeUnit(perSecond: readonly number[]): { timeUnit: '1s' | '1m' | '1h'; per: number } {
  const whole = (x: number): boolean => Math.abs(x - Math.round(x)) < 1e-6;
  if (perSecond.every(whole)) return { timeUnit: '1s', per: 1 };
  if (perSecond.every((x) => whole(x * 60))) return { timeUnit: '1m', per: 60 };
  return { timeUnit: '1h', per: 3600 };
}

export type K6Scenario = Record<string, unknown>;

/** Scenario names (and so the k6 `scenario` tag values) and the exported function each one runs. */
export const SCENARIO_EXEC = { rest: 'restIteration', ws: 'wsSession', hot_room: 'hotRoomSession' } as const;

export function k6Scenarios(p: Profile): Record<string, K6Scenario> {
  const out: Record<string, K6Scenario> = {};
  if (p.rest) {
    const r = p.rest;
    const rates = [r.startRate, ...r.stages.map((s) => s.target)];
    const { timeUnit: unit, per } = rateTimeUnit(rates);
    const conv = (x: number): number => Math.round(x * per);
    const common = { preAllocatedVUs: r.preAllocatedVUs, maxVUs: r.maxVUs, timeUnit: unit, exec: SCENARIO_EXEC.rest, gracefulStop: k6Duration(r.timeoutS + 5) };
    if (r.stages.length === 1 && r.stages[0]!.target === r.startRate) {
      out.rest = { executor: 'constant-arrival-rate', rate: conv(r.startRate), duration: k6Duration(r.stages[0]!.durationS), ...common };
    } else {
      out.rest = {
        executor: 'ramping-arrival-rate',
        startRate: conv(r.startRate),
        stages: r.stages.map((s) => ({ duration: k6Duration(s.durationS), target: conv(s.target) })),
        ...common,
      };
    }
  }
  if (p.ws) {
    const w = p.ws;
    if (w.mode === 'hold') {
      out.ws = { executor: 'per-vu-iterations', vus: w.vus, iterations: 1, maxDuration: k6Duration(w.sessionS + 30), gracefulStop: '10s', exec: SCENARIO_EXEC.ws };
    } else {
      out.ws = {
        executor: 'ramping-vus',
        startVUs: 0,
        stages: w.stages.map((s) => ({ duration: k6Duration(s.durationS), target: s.target })),
        gracefulRampDown: k6Duration(w.sessionS + w.ackTimeoutS + 5),
        gracefulStop: k6Duration(w.sessionS + w.ackTimeoutS + 5),
        exec: SCENARIO_EXEC.ws,
      };
    }
  }
  if (p.hotRoom) {
    const h = p.hotRoom;
    out.hot_room = {
      executor: 'per-vu-iterations',
      vus: h.vus,
      iterations: 1,
      maxDuration: k6Duration(hotRoomDurationS(h) + hotRoomTailMs(h) / 1000 + 30),
      gracefulStop: '10s',
      exec: SCENARIO_EXEC.hot_room,
    };
  }
  if (p.msa) out[MSA_SCENARIO] = msaK6Scenario(p.msa);
  return out;
}
