/**
 * The socket part of the bench: the most room sockets one k6 process holds with steady delivery, three ways, their
 * steps interleaved (one step of each in turn, so the machine's other load falls on all alike): the suite's own
 * room-socket scenario (with k6's raw output, as a runner runs it), the same socket work written by hand with k6
 * defaults (capacity/k6/ws-hand.js: suite / hand is the suite's own overhead), and a minimal non-k6 client on the
 * `ws` package (capacity/ws-client.ts: the machine's and the endpoint's ceiling). Each step runs
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
import { readFile, rm } from 'node:fs/promises';
import { resolveProfile } from '../lib/profiles.js';
import { forEachPoint } from '../runner/raw.js';
import { percentile } from '../runner/verdict.js';
import { cpuCores, otherCores, peakRssBytes, perSocket, ratio, type ProcSample, type TimeWindow } from './figures.js';
import { k6TargetEnv } from './endpoint-process.js';
import { measuredRun, metricValue, type SummaryMetrics } from './measured-run.js';
import { readMachineSample, sampleEvery, sampleProcess } from './proc-sampler.js';
import { ENDPOINT_BOUND_CORES, type PartContext } from './rest.js';
import type { SocketStep, SocketsResult, ToolSockets } from './results.js';
import { spawnClient } from './ws-client.js';
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
/** The first socket step (then doubling): the interesting range of a 2-core machine starts above it. */
export const FIRST_STEP = 1000;

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

type Tool = ToolSockets['tool'];

/** What one step of a tool measured, before it is judged. */
interface StepRun {
  deliveryP95Ms: number | null;
  deliveries: number;
  deliveryP95WholeMs: number | null;
  openFailed: number;
  closedEarly: number;
  echoTimeouts: number;
  tool: ProcSample[];
  endpoint: ProcSample[];
  machine: ProcSample[];
  window: { fromMs: number; toMs: number };
  wallMs: number;
  /** why the run itself went wrong (k6 did not end by itself, no result), if it did. */
  problem?: string;
}

interface Session {
  sessionS: number;
  profileDurationS: number;
  socketsPerVu: number;
  sendIntervalS: number;
}

const trend = (m: SummaryMetrics, name: string, stat: string): number | null => (metricValue(m, name, 'count') > 0 ? metricValue(m, name, stat) : null);

/** One step of a k6 script: the suite's (delivery from its raw output) or the hand-written one (from its summary). */
async function k6Step(ctx: PartContext, tool: 'suite' | 'hand', sockets: number, s: Session, env: Record<string, string>): Promise<StepRun> {
  const suite = tool === 'suite';
  const run = await measuredRun({
    k6Path: ctx.k6Path,
    script: suite ? ctx.scripts.wsSuite : ctx.scripts.wsHand,
    workDir: ctx.workDir,
    endpointPid: ctx.endpoint.pid,
    onStart: ctx.onK6,
    name: `ws-${tool}-${sockets}`,
    env: { ...env, BENCH_VUS: String(sockets / s.socketsPerVu), BENCH_SPREAD_S: String(s.sendIntervalS), BENCH_SESSION_S: String(s.sessionS), BENCH_MAX_DURATION: `${s.sendIntervalS + s.sessionS + 30}s` },
    rawOutput: suite,
    loadS: s.sessionS,
    timeoutMs: (s.sessionS + 180) * 1000,
  });
  const steadyPart = { fromMs: run.window.fromMs + s.sendIntervalS * 1000, toMs: run.window.toMs };
  let delivery: { p95: number | null; n: number };
  if (suite) {
    const l = await latenciesIn(run.rawPath!, steadyPart);
    await rm(run.rawPath!, { force: true });
    delivery = { p95: percentile(l, 95), n: l.length };
  } else {
    delivery = { p95: trend(run.metrics, 'ws_delivery_steady', 'p(95)'), n: metricValue(run.metrics, 'ws_delivery_steady', 'count') };
  }
  return {
    deliveryP95Ms: delivery.p95,
    deliveries: delivery.n,
    deliveryP95WholeMs: suite ? trend(run.metrics, 'ws_delivery_latency', 'p(95)') : null,
    openFailed: metricValue(run.metrics, 'ws_open_failed', 'count'),
    closedEarly: metricValue(run.metrics, 'ws_closed_early', 'count'),
    echoTimeouts: metricValue(run.metrics, 'ws_echo_timeout', 'count'),
    tool: run.k6,
    endpoint: run.endpoint,
    machine: run.machine,
    window: run.window,
    wallMs: run.wallMs,
    ...(run.exitCode === null || run.timedOut ? { problem: `k6 did not end by itself (exit ${run.exitCode}${run.timedOut ? ', timed out' : ''})` } : {}),
  };
}

/** One step of the minimal ws client (its own process, sampled like k6). */
async function clientStep(ctx: PartContext, sockets: number, s: Session): Promise<StepRun> {
  const started = Date.now();
  const client = spawnClient({ wsUrl: `${ctx.endpoint.url.replace(/^http/, 'ws')}/ws`, token: 'bench-token', sockets, sessionS: s.sessionS, spreadS: s.sendIntervalS }, (s.sessionS + 120) * 1000);
  const tool = sampleProcess(client.pid);
  const endpoint = sampleProcess(ctx.endpoint.pid);
  const machine = sampleEvery(readMachineSample);
  try {
    const r = await client.done;
    const fromMs = (await client.loadStart) ?? started;
    const steady = percentile(r.steadyLatenciesMs, 95);
    return { deliveryP95Ms: steady, deliveries: r.steadyLatenciesMs.length, deliveryP95WholeMs: null, openFailed: r.openFailed, closedEarly: r.closedEarly, echoTimeouts: r.echoTimeouts, tool: tool.stop(), endpoint: endpoint.stop(), machine: machine.stop(), window: { fromMs, toMs: fromMs + s.sessionS * 1000 }, wallMs: Date.now() - started };
  } catch (err) {
    return { deliveryP95Ms: null, deliveries: 0, deliveryP95WholeMs: null, openFailed: 0, closedEarly: 0, echoTimeouts: 0, tool: tool.stop(), endpoint: endpoint.stop(), machine: machine.stop(), window: { fromMs: started, toMs: started + s.sessionS * 1000 }, wallMs: Date.now() - started, problem: (err as Error).message };
  } finally {
    tool.stop();
    endpoint.stop();
    machine.stop();
  }
}

/** A step's facts judged: steady or why not, CPU and memory per socket. */
function judgeStep(sockets: number, vus: number, r: StepRun, s: Session, idleRssBytes: number): { facts: StepFacts; step: SocketStep } {
  const steadyPart = { fromMs: r.window.fromMs + s.sendIntervalS * 1000, toMs: r.window.toMs };
  const facts: StepFacts = {
    sockets,
    deliveryP95Ms: r.deliveryP95Ms,
    deliveries: r.deliveries,
    openFailed: r.openFailed,
    closedEarly: r.closedEarly,
    echoTimeouts: r.echoTimeouts,
    peakRssBytes: peakRssBytes(r.tool, { fromMs: r.window.fromMs, toMs: Number.MAX_SAFE_INTEGER }),
    wallMs: r.wallMs,
  };
  const reasons = unsteadyReasons(facts, { deliveryP95Ms: DELIVERY_P95_BOUND_MS, memoryCapBytes: MEMORY_CAP_BYTES });
  if (r.problem) reasons.push(r.problem);
  const toolCpu = cpuCores(r.tool, steadyPart);
  const endpointCpu = cpuCores(r.endpoint, steadyPart);
  const endpointBound = endpointCpu >= ENDPOINT_BOUND_CORES;
  if (reasons.length > 0 && endpointBound) reasons.push(`the endpoint used ${endpointCpu.toFixed(2)} cores: it may have been the limit`);
  const per = perSocket({ sockets, peakRssBytes: facts.peakRssBytes, cpuCores: toolCpu }, idleRssBytes);
  const step: SocketStep = {
    sockets,
    vus,
    deliveryP95Ms: r.deliveryP95Ms,
    deliveries: r.deliveries,
    deliveryP95WholeMs: r.deliveryP95WholeMs,
    openFailed: r.openFailed,
    closedEarly: r.closedEarly,
    echoTimeouts: r.echoTimeouts,
    k6PeakRssBytes: facts.peakRssBytes,
    k6CpuCores: toolCpu,
    endpointCpuCores: endpointCpu,
    endpointBound,
    otherCpuCores: otherCores(r.machine, [r.tool, r.endpoint], steadyPart),
    memoryPerSocketBytes: per.memoryBytes,
    cpuPerSocketMillicores: per.cpuMillicores,
    wallS: r.wallMs / 1000,
    steady: reasons.length === 0,
    reasons,
  };
  return { facts, step };
}

function describeStep(tool: Tool, st: SocketStep): string {
  return `sockets ${tool} ${st.sockets}: delivery p95 ${st.deliveryP95Ms?.toFixed(1) ?? 'n/a'} ms over ${st.deliveries} sends, RSS ${mib(st.k6PeakRssBytes)} (${(st.memoryPerSocketBytes / 1024).toFixed(1)} KiB/socket), CPU ${st.k6CpuCores.toFixed(2)} cores (${st.cpuPerSocketMillicores.toFixed(3)} millicores/socket), endpoint CPU ${st.endpointCpuCores.toFixed(2)}, rest of the machine ${st.otherCpuCores.toFixed(2)} cores: ${st.steady ? 'steady' : `NOT steady (${st.reasons.join('; ')})`}`;
}

/** The idle RSS of a k6 script with the ws bundle (one sleeping VU). */
async function idleRss(ctx: PartContext, script: string, name: string, env: Record<string, string>): Promise<number> {
  const idle = await measuredRun({ k6Path: ctx.k6Path, script, workDir: ctx.workDir, endpointPid: ctx.endpoint.pid, onStart: ctx.onK6, name, env: { ...env, BENCH_IDLE_S: String(IDLE_S) }, rawOutput: script === ctx.scripts.wsSuite, loadS: IDLE_S, timeoutMs: 120_000 });
  if (idle.rawPath) await rm(idle.rawPath, { force: true });
  const rss = peakRssBytes(idle.k6, idle.window);
  if (rss === 0) throw new Error(`idle k6 run (${name}): no memory sample (exit ${idle.exitCode}, log: ${idle.logPath})`);
  return rss;
}

interface ToolState {
  tool: Tool;
  idleRssBytes: number;
  done: Array<StepFacts & { reasons: string[] }>;
  steps: SocketStep[];
  elapsedMs: number;
  stoppedBecause?: string;
}

export async function benchSockets(ctx: PartContext, o: { durationS: number; maxSockets: number; capReason: string }): Promise<SocketsResult> {
  const s = stepSession(o.durationS);
  const env = { ...k6TargetEnv(ctx.endpoint), PROFILE: 'stage3', DURATION: `${s.profileDurationS}s`, USER_POOL: '0', RUN_ID: 'bench' };
  const tools: ToolState[] = [
    { tool: 'suite', idleRssBytes: await idleRss(ctx, ctx.scripts.wsSuite, 'ws-suite-idle', env), done: [], steps: [], elapsedMs: 0 },
    { tool: 'hand', idleRssBytes: await idleRss(ctx, ctx.scripts.wsHand, 'ws-hand-idle', env), done: [], steps: [], elapsedMs: 0 },
    { tool: 'ws-client', idleRssBytes: 0, done: [], steps: [], elapsedMs: 0 },
  ];
  ctx.log(`sockets: idle k6 RSS ${mib(tools[0]!.idleRssBytes)} (suite bundle), ${mib(tools[1]!.idleRssBytes)} (hand-written); steps of ${s.sessionS} s sessions (judged after the first ${s.sendIntervalS} s), ${s.socketsPerVu} sockets per VU, rooms of ${ROOM_SIZE}, one send per socket every ${s.sendIntervalS} s; suite, hand-written and ws client in turn`);
  const steps = socketSteps(o.maxSockets, s.socketsPerVu, FIRST_STEP);
  const limits = { memoryCapBytes: MEMORY_CAP_BYTES, timeCapMs: TIME_CAP_S * 1000 };
  for (;;) {
    const active = tools.filter((t) => t.stoppedBecause === undefined);
    if (active.length === 0) break;
    for (const t of active) {
      const next = nextStep(steps, t.done, t.elapsedMs, limits, o.capReason, s.socketsPerVu);
      if ('stop' in next) {
        t.stoppedBecause = next.stop;
        continue;
      }
      const sockets = next.run;
      const r = t.tool === 'ws-client' ? await clientStep(ctx, sockets, s) : await k6Step(ctx, t.tool, sockets, s, env);
      const { facts, step } = judgeStep(sockets, sockets / s.socketsPerVu, r, s, t.idleRssBytes);
      t.elapsedMs += r.wallMs;
      t.done.push({ ...facts, reasons: step.reasons });
      t.steps.push(step);
      ctx.log(describeStep(t.tool, step));
    }
  }
  const result = (t: ToolState): ToolSockets => ({ tool: t.tool, idleRssBytes: t.idleRssBytes, steps: t.steps, maxSteadySockets: maxSteadySockets(t.done), stoppedBecause: t.stoppedBecause! });
  const [suite, hand, client] = tools.map(result) as [ToolSockets, ToolSockets, ToolSockets];
  const ratios = { suiteToHand: ratio(suite.maxSteadySockets, hand.maxSteadySockets), suiteToClient: ratio(suite.maxSteadySockets, client.maxSteadySockets) };
  for (const t of [suite, hand, client]) ctx.log(`sockets: most held steadily by ${t.tool}: ${t.maxSteadySockets}; stopped: ${t.stoppedBecause}`);
  ctx.log(`sockets ratios: suite / hand-written = ${ratios.suiteToHand?.toFixed(3) ?? 'n/a'}, suite / ws client = ${ratios.suiteToClient?.toFixed(3) ?? 'n/a'}`);
  return {
    profile: 'stage3',
    socketsPerVu: s.socketsPerVu,
    sendIntervalS: s.sendIntervalS,
    roomSize: ROOM_SIZE,
    sessionS: s.sessionS,
    deliveryP95BoundMs: DELIVERY_P95_BOUND_MS,
    memoryCapBytes: MEMORY_CAP_BYTES,
    timeCapS: TIME_CAP_S,
    idleRssBytes: suite.idleRssBytes,
    steps: suite.steps,
    maxSteadySockets: suite.maxSteadySockets,
    stoppedBecause: suite.stoppedBecause,
    hand,
    client,
    ratios,
  };
}
