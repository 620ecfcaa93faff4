/**
 * One SLO description → the k6 thresholds. PURE: no k6, no Node; the runner imports `thresholdSpecs` to label
 * every threshold in summary.json / junit.xml with its meaning, limit and observed statistic.
 *
 * Every threshold is a ThresholdSpec: a k6 metric (optionally narrowed by tags, e.g. `{phase:fault}`), a
 * statistic, an operator and a limit. `toK6Thresholds` turns the list into `options.thresholds`; the k6 summary
 * then reports each one under `metrics[<key>].thresholds[<expression>].ok`.
 */
import type { Phase } from './types.js';
import { msaThresholdSpecs, OWNERS_MSA_SLO, type MsaSlo } from './msa-plan.js';

/** The owners' SLO, for the whole run (contract: "The load and SLO plan"). */
export interface Slo {
  /** message store (REST 201 or WS own echo) success ratio, minimum. */
  storeSuccessMin: number;
  /** message store latency (REST POST duration / WS send→own echo), p95 and p99 maximum, ms. */
  storeP95Ms: number;
  storeP99Ms: number;
  /** GET /rooms/:id/messages p95 maximum, ms. */
  listP95Ms: number;
  /** every REST request: p95 maximum (and p99 when set), ms — the stage table's "p95 < …". */
  httpP95Ms: number;
  httpP99Ms?: number | undefined;
  /** every REST request: failure ratio maximum — the stage table's "errors < …". */
  errorRateMax: number;
  /** WS send → own echo p95 maximum, ms. */
  wsDeliveryP95Ms: number;
  /** hot room: send → receipt at every other subscriber, p95 maximum, ms. */
  fanoutP95Ms: number;
  /** hot room: share of (acknowledged message × subscriber connected the whole time) that arrived, minimum. */
  fanoutDeliveryMin: number;
  /**
   * share of room sockets whose session was ok, minimum: opened, did not give up reconnecting, and no
   * disconnection longer than the reconnect policy's gapOkMs (lib/reconnect.ts).
   */
  wsSessionOkMin: number;
  /** ws part: share of scheduled sends skipped because the socket still waited for an answer, maximum. */
  wsSendsSkippedMax: number;
  /**
   * REST part: share of just-stored messages missing from the list read right after (read_after_write_miss),
   * maximum. Unset: reported, not judged (the contract promises no read-after-write timing).
   */
  readAfterWriteMissMax?: number | undefined;
}

/** Limits that apply only to samples tagged with one phase (failover profile). Unset fields get no threshold. */
export interface PhaseSlo {
  errorRateMax?: number;
  httpP95Ms?: number;
  storeSuccessMin?: number;
  storeP95Ms?: number;
  wsDeliveryP95Ms?: number;
  /**
   * Room sockets: unplanned close → replacement open (`ws_reconnect_ms`, tagged with the phase of the close) p95
   * maximum, ms. Set it only where sockets are meant to reconnect (a drill with a chat-instance fault, through the
   * SLO setting): a phase without reconnects has no samples, and the runner fails a threshold that measured nothing.
   */
  wsReconnectP95Ms?: number;
}

/** "The target is plainly down": stop the run early (abortOnFail) once these are breached after delayS. */
export interface AbortSlo {
  storeSuccessMin: number;
  errorRateMax: number;
  wsSessionOkMin: number;
  delayS: number;
}

export interface SloSet {
  whole: Slo;
  phases?: Partial<Record<Phase, PhaseSlo>>;
  abort: AbortSlo;
  /** The msa part's limits (default: the owners' own, OWNERS_MSA_SLO). */
  msa?: MsaSlo;
}

/** The SLO draft of the contract: store ≥ 99.9 %, store p95 ≤ 300 ms / p99 ≤ 800 ms, list p95 ≤ 400 ms. */
export const BASE_SLO: Slo = {
  storeSuccessMin: 0.999,
  storeP95Ms: 300,
  storeP99Ms: 800,
  listP95Ms: 400,
  httpP95Ms: 500,
  errorRateMax: 0.01,
  wsDeliveryP95Ms: 300,
  fanoutP95Ms: 500,
  fanoutDeliveryMin: 0.999,
  wsSessionOkMin: 0.99,
  wsSendsSkippedMax: 0.01,
};

export const BASE_ABORT: AbortSlo = { storeSuccessMin: 0.5, errorRateMax: 0.5, wsSessionOkMin: 0.5, delayS: 10 };

export type Unit = 'ratio' | 'ms' | 'count';
export type Op = '<' | '<=' | '>' | '>=';

export interface ThresholdSpec {
  /** Stable id used in summary.json / junit: e.g. `store_success`, `fault.error_rate`, `abort.store_success`. */
  id: string;
  /** k6 metric name. */
  metric: string;
  /** Tag filter narrowing the metric to a submetric, e.g. { endpoint: 'message_list' } or { phase: 'fault' }. */
  tags: Record<string, string>;
  /** k6 aggregation the limit applies to. */
  stat: 'rate' | 'p(95)' | 'p(99)' | 'count';
  op: Op;
  limit: number;
  unit: Unit;
  abortOnFail: boolean;
  /** Only with abortOnFail: seconds of load before the abort is evaluated. */
  delayAbortEvalS?: number;
  /** Phase this threshold judges, when it is a per-phase threshold. */
  phase?: Phase;
  /** One line for humans: what it means. */
  meaning: string;
}

/** Which scenario parts run (thresholds on metrics a run never emits are left out). */
export interface Parts {
  rest: boolean;
  ws: boolean;
  hotRoom: boolean;
  /** The owners' MSA iteration (lib/msa-plan.ts): chat, session, tenanthub. */
  msa?: boolean;
}

/** The k6 threshold key: metric plus tag filter, e.g. `http_req_duration{endpoint:message_list}`. */
export function thresholdKey(spec: Pick<ThresholdSpec, 'metric' | 'tags'>): string {
  const tags = Object.entries(spec.tags);
  if (tags.length === 0) return spec.metric;
  return `${spec.metric}{${tags.map(([k, v]) => `${k}:${v}`).join(',')}}`;
}

/** The k6 threshold expression, e.g. `p(95)<=300` or `rate>=0.999`. */
export function thresholdExpression(spec: Pick<ThresholdSpec, 'stat' | 'op' | 'limit'>): string {
  return `${spec.stat}${spec.op}${spec.limit}`;
}

/** Whether an observed value satisfies a spec (the runner uses it to double-check k6's verdict). */
export function holds(spec: Pick<ThresholdSpec, 'op' | 'limit'>, observed: number): boolean {
  switch (spec.op) {
    case '<':
      return observed < spec.limit;
    case '<=':
      return observed <= spec.limit;
    case '>':
      return observed > spec.limit;
    case '>=':
      return observed >= spec.limit;
  }
}

function pct(x: number): string {
  return `${Math.round(x * 100000) / 1000} %`;
}

/**
 * The tag filter of the whole-run REST thresholds: requests of the load only. setup() tags its requests
 * `traffic:setup` (and `phase:setup`), every VU request `traffic:load`, so a fixture that fails (org units, users,
 * rooms) never counts in the load's error rate or latency; setup has its own section in the summary.
 */
export const LOAD_TRAFFIC = { traffic: 'load' } as const;

/** Generates every threshold of one SLO set for the parts that run. Order: whole run, per phase, abort. */
export function thresholdSpecs(set: SloSet, parts: Parts): ThresholdSpec[] {
  const out: ThresholdSpec[] = [];
  const s = set.whole;
  const stores = parts.rest || parts.ws || parts.hotRoom;
  const sockets = parts.ws || parts.hotRoom;
  const add = (spec: Omit<ThresholdSpec, 'abortOnFail' | 'tags'> & { tags?: Record<string, string>; abortOnFail?: boolean }): void => {
    out.push({ tags: {}, abortOnFail: false, ...spec });
  };

  if (stores) {
    add({ id: 'store_success', metric: 'message_store_success', stat: 'rate', op: '>=', limit: s.storeSuccessMin, unit: 'ratio', meaning: `message stores (REST 201 or WS own echo) that succeeded, at least ${pct(s.storeSuccessMin)}` });
    add({ id: 'store_p95', metric: 'message_store_latency', stat: 'p(95)', op: '<=', limit: s.storeP95Ms, unit: 'ms', meaning: `message store latency p95 (REST POST / WS send to own echo), at most ${s.storeP95Ms} ms` });
    add({ id: 'store_p99', metric: 'message_store_latency', stat: 'p(99)', op: '<=', limit: s.storeP99Ms, unit: 'ms', meaning: `message store latency p99, at most ${s.storeP99Ms} ms` });
  }
  if (parts.rest) {
    add({ id: 'list_p95', metric: 'http_req_duration', tags: { endpoint: 'message_list' }, stat: 'p(95)', op: '<=', limit: s.listP95Ms, unit: 'ms', meaning: `GET /rooms/:id/messages p95, at most ${s.listP95Ms} ms` });
    add({ id: 'http_p95', metric: 'http_req_duration', tags: { ...LOAD_TRAFFIC }, stat: 'p(95)', op: '<=', limit: s.httpP95Ms, unit: 'ms', meaning: `every REST request p95, at most ${s.httpP95Ms} ms` });
    if (s.httpP99Ms !== undefined) {
      add({ id: 'http_p99', metric: 'http_req_duration', tags: { ...LOAD_TRAFFIC }, stat: 'p(99)', op: '<=', limit: s.httpP99Ms, unit: 'ms', meaning: `every REST request p99, at most ${s.httpP99Ms} ms` });
    }
    add({ id: 'error_rate', metric: 'http_req_failed', tags: { ...LOAD_TRAFFIC }, stat: 'rate', op: '<=', limit: s.errorRateMax, unit: 'ratio', meaning: `REST requests that failed (status >= 400 or no response), at most ${pct(s.errorRateMax)}` });
    if (s.readAfterWriteMissMax !== undefined) {
      add({ id: 'read_after_write_miss', metric: 'read_after_write_miss', stat: 'rate', op: '<=', limit: s.readAfterWriteMissMax, unit: 'ratio', meaning: `messages missing from the room's list read right after storing them, at most ${pct(s.readAfterWriteMissMax)}` });
    }
  }
  if (parts.ws) {
    add({ id: 'ws_sends_skipped', metric: 'ws_sends_skipped', stat: 'rate', op: '<=', limit: s.wsSendsSkippedMax, unit: 'ratio', meaning: `scheduled WS sends skipped because the socket still waited for an answer, at most ${pct(s.wsSendsSkippedMax)}` });
    add({ id: 'ws_delivery_p95', metric: 'ws_delivery_latency', stat: 'p(95)', op: '<=', limit: s.wsDeliveryP95Ms, unit: 'ms', meaning: `WS send to own echo p95, at most ${s.wsDeliveryP95Ms} ms` });
  }
  if (sockets) {
    add({ id: 'ws_session_ok', metric: 'ws_session_ok', stat: 'rate', op: '>=', limit: s.wsSessionOkMin, unit: 'ratio', meaning: `room sockets that opened and stayed connected for their planned span (reconnect gaps up to the policy's limit allowed), at least ${pct(s.wsSessionOkMin)}` });
  }
  if (parts.hotRoom) {
    add({ id: 'fanout_p95', metric: 'ws_fanout_latency', stat: 'p(95)', op: '<=', limit: s.fanoutP95Ms, unit: 'ms', meaning: `hot room send to receipt at each other subscriber p95, at most ${s.fanoutP95Ms} ms` });
    add({ id: 'fanout_delivery', metric: 'ws_fanout_delivery', stat: 'rate', op: '>=', limit: s.fanoutDeliveryMin, unit: 'ratio', meaning: `hot room acknowledged messages that reached every subscriber while it was connected, at least ${pct(s.fanoutDeliveryMin)}` });
  }

  for (const [phase, p] of Object.entries(set.phases ?? {}) as Array<[Phase, PhaseSlo]>) {
    const tags = { phase };
    if (stores && p.storeSuccessMin !== undefined) {
      add({ id: `${phase}.store_success`, phase, metric: 'message_store_success', tags, stat: 'rate', op: '>=', limit: p.storeSuccessMin, unit: 'ratio', meaning: `${phase} phase: message stores that succeeded, at least ${pct(p.storeSuccessMin)}` });
    }
    if (stores && p.storeP95Ms !== undefined) {
      add({ id: `${phase}.store_p95`, phase, metric: 'message_store_latency', tags, stat: 'p(95)', op: '<=', limit: p.storeP95Ms, unit: 'ms', meaning: `${phase} phase: message store latency p95, at most ${p.storeP95Ms} ms` });
    }
    if (parts.rest && p.errorRateMax !== undefined) {
      add({ id: `${phase}.error_rate`, phase, metric: 'http_req_failed', tags, stat: 'rate', op: '<=', limit: p.errorRateMax, unit: 'ratio', meaning: `${phase} phase: REST requests that failed, at most ${pct(p.errorRateMax)}` });
    }
    if (parts.rest && p.httpP95Ms !== undefined) {
      add({ id: `${phase}.http_p95`, phase, metric: 'http_req_duration', tags, stat: 'p(95)', op: '<=', limit: p.httpP95Ms, unit: 'ms', meaning: `${phase} phase: every REST request p95, at most ${p.httpP95Ms} ms` });
    }
    if (sockets && p.wsReconnectP95Ms !== undefined) {
      add({ id: `${phase}.ws_reconnect_p95`, phase, metric: 'ws_reconnect_ms', tags, stat: 'p(95)', op: '<=', limit: p.wsReconnectP95Ms, unit: 'ms', meaning: `${phase} phase: room socket unplanned close to replacement open p95, at most ${p.wsReconnectP95Ms} ms` });
    }
    if (parts.ws && p.wsDeliveryP95Ms !== undefined) {
      add({ id: `${phase}.ws_delivery_p95`, phase, metric: 'ws_delivery_latency', tags, stat: 'p(95)', op: '<=', limit: p.wsDeliveryP95Ms, unit: 'ms', meaning: `${phase} phase: WS send to own echo p95, at most ${p.wsDeliveryP95Ms} ms` });
    }
  }

  if (parts.msa) out.push(...msaThresholdSpecs(set.msa ?? OWNERS_MSA_SLO, set.phases));

  const a = set.abort;
  const abort = { abortOnFail: true, delayAbortEvalS: a.delayS };
  if (stores) {
    add({ id: 'abort.store_success', metric: 'message_store_success', stat: 'rate', op: '>=', limit: a.storeSuccessMin, unit: 'ratio', ...abort, meaning: `stop early: fewer than ${pct(a.storeSuccessMin)} of message stores succeed (target plainly down)` });
  }
  if (parts.rest) {
    add({ id: 'abort.error_rate', metric: 'http_req_failed', tags: { ...LOAD_TRAFFIC }, stat: 'rate', op: '<=', limit: a.errorRateMax, unit: 'ratio', ...abort, meaning: `stop early: more than ${pct(a.errorRateMax)} of REST requests fail (target plainly down)` });
  }
  if (sockets) {
    add({ id: 'abort.ws_session_ok', metric: 'ws_session_ok', stat: 'rate', op: '>=', limit: a.wsSessionOkMin, unit: 'ratio', ...abort, meaning: `stop early: fewer than ${pct(a.wsSessionOkMin)} of room sockets open and stay open (target plainly down)` });
  }
  assertUnique(out);
  return out;
}

function assertUnique(specs: readonly ThresholdSpec[]): void {
  const ids = new Set<string>();
  const exprs = new Set<string>();
  for (const s of specs) {
    const e = `${thresholdKey(s)} ${thresholdExpression(s)}`;
    if (ids.has(s.id)) throw new Error(`duplicate threshold id ${s.id}`);
    // k6 keys a metric's thresholds by expression: two specs with one key and one expression would collide.
    if (exprs.has(e)) throw new Error(`duplicate threshold ${e} (${s.id})`);
    ids.add(s.id);
    exprs.add(e);
  }
}

export type K6Threshold = string | { threshold: string; abortOnFail: boolean; delayAbortEval?: string };

/** The `options.thresholds` object k6 reads. */
export function toK6Thresholds(specs: readonly ThresholdSpec[]): Record<string, K6Threshold[]> {
  const out: Record<string, K6Threshold[]> = {};
  for (const s of specs) {
    const key = thresholdKey(s);
    const expr = thresholdExpression(s);
    const entry: K6Threshold = s.abortOnFail
      ? { threshold: expr, abortOnFail: true, delayAbortEval: `${s.delayAbortEvalS ?? 0}s` }
      : expr;
    (out[key] ??= []).push(entry);
  }
  return out;
}

export interface SloOverrides {
  whole?: Partial<Slo>;
  phases?: Partial<Record<Phase, PhaseSlo>>;
  abort?: Partial<AbortSlo>;
  msa?: Partial<MsaSlo>;
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Merges SLO overrides into a set (a profile's overrides over the base SLO; SLO env over a profile). */
export function withOverrides(base: SloSet, over: SloOverrides): SloSet {
  const phases: Partial<Record<Phase, PhaseSlo>> = { ...(base.phases ?? {}) };
  for (const [k, v] of Object.entries(over.phases ?? {}) as Array<[Phase, PhaseSlo]>) {
    phases[k] = { ...(phases[k] ?? {}), ...defined(v) };
  }
  const set: SloSet = {
    whole: { ...base.whole, ...defined(over.whole) },
    abort: { ...base.abort, ...defined(over.abort) },
  };
  if (Object.keys(phases).length > 0) set.phases = phases;
  if (base.msa || over.msa) set.msa = { ...OWNERS_MSA_SLO, ...(base.msa ?? {}), ...defined(over.msa) };
  return set;
}
