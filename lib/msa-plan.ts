/**
 * The `msa` part: the owners' own MSA load test (contract: "The owners' own MSA load test") as one part of the
 * suite. Per iteration, as the admin logged in once in setup: POST /rooms/:id/messages (chat), PATCH
 * /session/status cycling online → busy → away (session), GET /tenants (tenanthub); then a 200 ms sleep. A closed
 * model (VUs that loop), as their script is.
 *
 * PURE (no k6, no Node): the profile arithmetic, the owners' thresholds (the defaults of this part) and the
 * per-service thresholds (whole run and per phase) are unit-tested from Node; the runner computes the same list.
 */
import type { Phase } from './types.js';
import type { PhaseSlo, ThresholdSpec } from './slo.js';

export interface MsaStage {
  durationS: number;
  /** VUs at the end of the stage. */
  target: number;
}

export interface MsaPart {
  /** hold: `vus` VUs for `durationS`; ramp: ramping-vus over `stages`. */
  mode: 'hold' | 'ramp';
  vus: number;
  durationS: number;
  stages: MsaStage[];
  /** The owners' think time after every iteration. */
  sleepS: number;
  /** Per-request timeout. */
  timeoutS: number;
}

/** The owners' thresholds of their MSA script: the defaults of the msa part (SLO override key `msa`). */
export interface MsaSlo {
  /** their `http_req_failed` < 2 %: here per service of the part (chat, session, tenanthub) and for the part. */
  errorRateMax: number;
  /** their `http_req_duration` p95 < 700 ms and p99 < 1500 ms, over the part's requests. */
  httpP95Ms: number;
  httpP99Ms: number;
  /** chat message create p95 < 500 ms, p99 < 1200 ms. */
  messageP95Ms: number;
  messageP99Ms: number;
  /** session status update p95 < 500 ms. */
  statusP95Ms: number;
  /** tenants list p95 < 600 ms. */
  tenantsP95Ms: number;
}

export const OWNERS_MSA_SLO: MsaSlo = {
  errorRateMax: 0.02,
  httpP95Ms: 700,
  httpP99Ms: 1500,
  messageP95Ms: 500,
  messageP99Ms: 1200,
  statusP95Ms: 500,
  tenantsP95Ms: 600,
};

/** The services the part drives, as the `service` tag of their requests (orghub only logs in, in setup). */
export const MSA_SERVICES = ['chat', 'session', 'tenanthub'] as const;
export type MsaService = (typeof MSA_SERVICES)[number];

/** The status an iteration sets: online, busy, away, online, ... by its number in the test. */
export const MSA_STATUS_CYCLE = ['online', 'busy', 'away'] as const;
export function msaStatusFor(iterationInTest: number): (typeof MSA_STATUS_CYCLE)[number] {
  const n = Math.max(0, Math.floor(iterationInTest));
  return MSA_STATUS_CYCLE[n % MSA_STATUS_CYCLE.length]!;
}

/** k6 scenario name of the part (so every sample of it carries `scenario:msa`) and its exec function. */
export const MSA_SCENARIO = 'msa';
export const MSA_EXEC = 'msaIteration';

export function msaDurationS(m: MsaPart): number {
  return m.mode === 'hold' ? m.durationS : m.stages.reduce((a, s) => a + s.durationS, 0);
}

export function msaPeakVus(m: MsaPart): number {
  return m.mode === 'hold' ? m.vus : Math.max(0, ...m.stages.map((s) => s.target));
}

export function scaleMsa(m: MsaPart, f: number): MsaPart {
  const c = (n: number) => (n <= 0 ? 0 : Math.max(1, Math.round(n * f)));
  return { ...m, vus: c(m.vus), stages: m.stages.map((s) => ({ ...s, target: c(s.target) })) };
}

export function msaWithDuration(m: MsaPart, durationS: number): MsaPart {
  if (m.mode === 'hold') return { ...m, durationS };
  const k = durationS / msaDurationS(m);
  return { ...m, stages: m.stages.map((s) => ({ ...s, durationS: Math.max(1, Math.round(s.durationS * k)) })) };
}

const dur = (s: number) => `${Math.round(s)}s`;

/** The k6 scenario of the part. */
export function msaK6Scenario(m: MsaPart): Record<string, unknown> {
  const stop = dur(m.timeoutS * 3 + m.sleepS + 5);
  if (m.mode === 'hold') return { executor: 'constant-vus', vus: m.vus, duration: dur(m.durationS), gracefulStop: stop, exec: MSA_EXEC };
  return {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: m.stages.map((s) => ({ duration: dur(s.durationS), target: s.target })),
    gracefulRampDown: stop,
    gracefulStop: stop,
    exec: MSA_EXEC,
  };
}

function pct(x: number): string {
  return `${Math.round(x * 100000) / 1000} %`;
}

type Add = (spec: Omit<ThresholdSpec, 'abortOnFail'>) => void;

/**
 * The part's thresholds: the owners' (for the part's requests, `scenario:msa`), one error rate per service, and,
 * when the SLO set has phases (drills), each service's error rate and p95 per phase with the phase's limits.
 * Per-phase service thresholds cover chat, session and tenanthub, whose requests run in every phase.
 */
export function msaThresholdSpecs(slo: MsaSlo, phases: Partial<Record<Phase, PhaseSlo>> | undefined): ThresholdSpec[] {
  const out: ThresholdSpec[] = [];
  const add: Add = (s) => out.push({ ...s, abortOnFail: false });
  const sc = { scenario: MSA_SCENARIO };
  add({ id: 'msa.error_rate', metric: 'http_req_failed', tags: sc, stat: 'rate', op: '<', limit: slo.errorRateMax, unit: 'ratio', meaning: `msa part (owners' script): requests that failed, below ${pct(slo.errorRateMax)}` });
  add({ id: 'msa.http_p95', metric: 'http_req_duration', tags: sc, stat: 'p(95)', op: '<', limit: slo.httpP95Ms, unit: 'ms', meaning: `msa part: every request p95, below ${slo.httpP95Ms} ms` });
  add({ id: 'msa.http_p99', metric: 'http_req_duration', tags: sc, stat: 'p(99)', op: '<', limit: slo.httpP99Ms, unit: 'ms', meaning: `msa part: every request p99, below ${slo.httpP99Ms} ms` });
  const msg = { ...sc, service: 'chat', endpoint: 'message_store' };
  add({ id: 'msa.chat.message_p95', metric: 'http_req_duration', tags: msg, stat: 'p(95)', op: '<', limit: slo.messageP95Ms, unit: 'ms', meaning: `msa part: chat message create p95, below ${slo.messageP95Ms} ms` });
  add({ id: 'msa.chat.message_p99', metric: 'http_req_duration', tags: msg, stat: 'p(99)', op: '<', limit: slo.messageP99Ms, unit: 'ms', meaning: `msa part: chat message create p99, below ${slo.messageP99Ms} ms` });
  add({ id: 'msa.session.status_p95', metric: 'http_req_duration', tags: { ...sc, service: 'session', endpoint: 'session_status' }, stat: 'p(95)', op: '<', limit: slo.statusP95Ms, unit: 'ms', meaning: `msa part: session status update p95, below ${slo.statusP95Ms} ms` });
  add({ id: 'msa.tenanthub.tenants_p95', metric: 'http_req_duration', tags: { ...sc, service: 'tenanthub', endpoint: 'tenants_list' }, stat: 'p(95)', op: '<', limit: slo.tenantsP95Ms, unit: 'ms', meaning: `msa part: tenants list p95, below ${slo.tenantsP95Ms} ms` });
  add({ id: 'msa.answer_shape', metric: 'msa_answer_ok', tags: {}, stat: 'rate', op: '>=', limit: 1 - slo.errorRateMax, unit: 'ratio', meaning: `msa part: 200 answers of the contract's shape (status update {"ok": true}, tenants list an array), at least ${pct(1 - slo.errorRateMax)}` });
  for (const svc of MSA_SERVICES) {
    add({ id: `msa.${svc}.error_rate`, metric: 'http_req_failed', tags: { ...sc, service: svc }, stat: 'rate', op: '<', limit: slo.errorRateMax, unit: 'ratio', meaning: `msa part: ${svc} requests that failed, below ${pct(slo.errorRateMax)}` });
  }
  for (const [phase, p] of Object.entries(phases ?? {}) as Array<[Phase, PhaseSlo]>) {
    for (const svc of MSA_SERVICES) {
      const tags = { phase, service: svc };
      if (p.errorRateMax !== undefined) {
        add({ id: `${phase}.${svc}.error_rate`, phase, metric: 'http_req_failed', tags, stat: 'rate', op: '<=', limit: p.errorRateMax, unit: 'ratio', meaning: `${phase} phase: ${svc} requests that failed, at most ${pct(p.errorRateMax)}` });
      }
      if (p.httpP95Ms !== undefined) {
        add({ id: `${phase}.${svc}.http_p95`, phase, metric: 'http_req_duration', tags, stat: 'p(95)', op: '<=', limit: p.httpP95Ms, unit: 'ms', meaning: `${phase} phase: ${svc} requests p95, at most ${p.httpP95Ms} ms` });
      }
    }
  }
  return out;
}
