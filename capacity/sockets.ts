/**
 * The socket part of the bench: the most room sockets one k6 process holds with steady delivery. Each step runs
 * the suite's own room-socket scenario (stage 3: 50 sockets per VU, one message per socket every 10 s, send →
 * own echo timed) with N sockets for one session against the endpoint, which puts sockets into rooms of 50 as
 * stage 3 does (100,000 users in 2,000 rooms), so each socket also receives its 49 room-mates' messages
 * (~5 frames/s). Steps double from 250 until one is not steady, then one step halfway back narrows the figure
 * (capacity/steps.ts); or until a cap is reached.
 * The VUs start spread over the first send interval (as a ramp spreads them; capacity/k6/ws-suite.js), and
 * a step's session lasts two send intervals or more, so from the end of the first interval to the end of the
 * first VU's session every socket is open and sending: delivery p95 (from k6's raw output) and CPU are taken
 * over that steady part. Memory per socket = (k6's peak RSS − RSS of the same k6 and bundle idle) / sockets;
 * CPU per socket = k6's CPU in the steady part / sockets.
 */
import { rm } from 'node:fs/promises';
import { resolveProfile } from '../lib/profiles.js';
import { forEachPoint } from '../runner/raw.js';
import { percentile } from '../runner/verdict.js';
import { cpuCores, otherCores, peakRssBytes, perSocket, type TimeWindow } from './figures.js';
import { k6TargetEnv } from './endpoint-process.js';
import { measuredRun, metricValue } from './measured-run.js';
import type { PartContext } from './rest.js';
import type { SocketStep, SocketsResult } from './results.js';
import { maxSteadySockets, nextStep, socketSteps, unsteadyReasons, type StepFacts } from './steps.js';

/** Sockets per fan-out room: stage 3's 100,000 users in 2,000 rooms. */
export const ROOM_SIZE = 50;
/** A steady step's delivery p95 bound: a sixth of the SLO's 300 ms WS delivery p95 (lib/slo.ts), so the load
 * generator's own delay stays small beside what it measures; loopback delivery is a few ms when k6 keeps up. */
export const DELIVERY_P95_BOUND_MS = 50;
/** k6 RSS cap: 75 % of an 8 GiB runner (the runner size the load plan assumes). */
export const MEMORY_CAP_BYTES = 6 * 2 ** 30;
/** The socket part stops before a step that would end it later than this. */
export const TIME_CAP_S = 300;
const IDLE_S = 3;

/**
 * The stage-3 socket session of a step of `durationS`: at least 20 s (two sends per socket: one while the sockets
 * open, one in the steady part), at most 60 s.
 */
export function stepSession(durationS: number): { sessionS: number; profileDurationS: number; socketsPerVu: number; sendIntervalS: number } {
  const sessionS = Math.min(60, Math.max(20, Math.round(durationS)));
  // lib/profiles.ts withDuration: a staged profile's session becomes round(DURATION / 6) within [10, 60].
  const profileDurationS = sessionS * 6;
  const ws = resolveProfile('stage3', { durationS: profileDurationS }).ws!;
  if (ws.sessionS !== sessionS) throw new Error(`stage3 with DURATION=${profileDurationS}s gives ${ws.sessionS} s sessions, not ${sessionS} s`);
  return { sessionS, profileDurationS, socketsPerVu: ws.socketsPerVu, sendIntervalS: ws.sendIntervalS };
}

/** ws_delivery_latency samples (send → own echo, ms) sent inside the window, from k6's raw output. */
async function latenciesIn(rawPath: string, w: TimeWindow): Promise<number[]> {
  const out: number[] = [];
  await forEachPoint(rawPath, (p) => {
    const t = Date.parse(p.time);
    if (t >= w.fromMs && t <= w.toMs) out.push(p.value);
  }, new Set(['ws_delivery_latency']));
  return out;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

export async function benchSockets(ctx: PartContext, o: { durationS: number; maxSockets: number; capReason: string }): Promise<SocketsResult> {
  const s = stepSession(o.durationS);
  const env = { ...k6TargetEnv(ctx.endpoint), PROFILE: 'stage3', DURATION: `${s.profileDurationS}s`, USER_POOL: '0', RUN_ID: 'bench' };
  const common = { k6Path: ctx.k6Path, script: ctx.scripts.wsSuite, workDir: ctx.workDir, endpointPid: ctx.endpoint.pid, onStart: ctx.onK6 };

  const idle = await measuredRun({ ...common, name: 'ws-idle', env: { ...env, BENCH_IDLE_S: String(IDLE_S) }, rawOutput: true, loadS: IDLE_S, timeoutMs: 120_000 });
  const idleRssBytes = peakRssBytes(idle.k6, idle.window);
  if (idleRssBytes === 0) throw new Error(`idle k6 run: no memory sample (exit ${idle.exitCode}, log: ${idle.logPath})`);
  ctx.log(`sockets: idle k6 with the ws bundle: RSS ${mib(idleRssBytes)}; steps of ${s.sessionS} s sessions (judged after the first ${s.sendIntervalS} s), ${s.socketsPerVu} sockets per VU, rooms of ${ROOM_SIZE}, one send per socket every ${s.sendIntervalS} s`);

  const steps = socketSteps(o.maxSockets, s.socketsPerVu);
  const done: Array<StepFacts & { reasons: string[] }> = [];
  const results: SocketStep[] = [];
  const started = Date.now();
  let stoppedBecause = '';
  for (;;) {
    const next = nextStep(steps, done, Date.now() - started, { memoryCapBytes: MEMORY_CAP_BYTES, timeCapMs: TIME_CAP_S * 1000 }, o.capReason, s.socketsPerVu);
    if ('stop' in next) {
      stoppedBecause = next.stop;
      break;
    }
    const sockets = next.run;
    const vus = sockets / s.socketsPerVu;
    const run = await measuredRun({
      ...common,
      name: `ws-${sockets}`,
      env: { ...env, BENCH_VUS: String(vus), BENCH_SPREAD_S: String(s.sendIntervalS), BENCH_MAX_DURATION: `${s.sendIntervalS + s.sessionS + 30}s` },
      rawOutput: true,
      loadS: s.sessionS,
      timeoutMs: (s.sessionS + 180) * 1000,
    });
    const whole = { fromMs: run.window.fromMs, toMs: Number.MAX_SAFE_INTEGER };
    const steadyPart = { fromMs: run.window.fromMs + s.sendIntervalS * 1000, toMs: run.window.toMs };
    const delivery = await latenciesIn(run.rawPath!, steadyPart);
    await rm(run.rawPath!, { force: true });
    const facts: StepFacts = {
      sockets,
      deliveryP95Ms: percentile(delivery, 95),
      deliveries: delivery.length,
      openFailed: metricValue(run.metrics, 'ws_open_failed', 'count'),
      closedEarly: metricValue(run.metrics, 'ws_closed_early', 'count'),
      echoTimeouts: metricValue(run.metrics, 'ws_echo_timeout', 'count'),
      peakRssBytes: peakRssBytes(run.k6, whole),
      wallMs: run.wallMs,
    };
    const reasons = unsteadyReasons(facts, { deliveryP95Ms: DELIVERY_P95_BOUND_MS, memoryCapBytes: MEMORY_CAP_BYTES });
    if (run.exitCode === null || run.timedOut) reasons.push(`k6 did not end by itself (exit ${run.exitCode}${run.timedOut ? ', timed out' : ''})`);
    const k6Cpu = cpuCores(run.k6, steadyPart);
    const endpointCpu = cpuCores(run.endpoint, steadyPart);
    const otherCpu = otherCores(run.machine, [run.k6, run.endpoint], steadyPart);
    if (reasons.length > 0 && endpointCpu >= 0.9) reasons.push(`the endpoint used ${endpointCpu.toFixed(2)} cores: it may have been the limit`);
    const per = perSocket({ sockets, peakRssBytes: facts.peakRssBytes, cpuCores: k6Cpu }, idleRssBytes);
    done.push({ ...facts, reasons });
    const step: SocketStep = {
      sockets,
      vus,
      deliveryP95Ms: facts.deliveryP95Ms,
      deliveries: facts.deliveries,
      deliveryP95WholeMs: metricValue(run.metrics, 'ws_delivery_latency', 'count') > 0 ? metricValue(run.metrics, 'ws_delivery_latency', 'p(95)') : null,
      openFailed: facts.openFailed,
      closedEarly: facts.closedEarly,
      echoTimeouts: facts.echoTimeouts,
      k6PeakRssBytes: facts.peakRssBytes,
      k6CpuCores: k6Cpu,
      endpointCpuCores: endpointCpu,
      otherCpuCores: otherCpu,
      memoryPerSocketBytes: per.memoryBytes,
      cpuPerSocketMillicores: per.cpuMillicores,
      wallS: run.wallMs / 1000,
      steady: reasons.length === 0,
      reasons,
    };
    results.push(step);
    ctx.log(
      `sockets ${sockets}: delivery p95 ${step.deliveryP95Ms?.toFixed(1) ?? 'n/a'} ms over ${step.deliveries} sends, k6 RSS ${mib(step.k6PeakRssBytes)} (${(step.memoryPerSocketBytes / 1024).toFixed(1)} KiB/socket), k6 CPU ${k6Cpu.toFixed(2)} cores (${step.cpuPerSocketMillicores.toFixed(3)} millicores/socket), endpoint CPU ${endpointCpu.toFixed(2)}, rest of the machine ${otherCpu.toFixed(2)} cores: ${step.steady ? 'steady' : `NOT steady (${reasons.join('; ')})`}`,
    );
  }
  const max = maxSteadySockets(done);
  ctx.log(`sockets: most held steadily by one k6 process: ${max}; stopped: ${stoppedBecause}`);
  return {
    profile: 'stage3',
    socketsPerVu: s.socketsPerVu,
    sendIntervalS: s.sendIntervalS,
    roomSize: ROOM_SIZE,
    sessionS: s.sessionS,
    deliveryP95BoundMs: DELIVERY_P95_BOUND_MS,
    memoryCapBytes: MEMORY_CAP_BYTES,
    timeCapS: TIME_CAP_S,
    idleRssBytes,
    steps: results,
    maxSteadySockets: max,
    stoppedBecause,
  };
}
