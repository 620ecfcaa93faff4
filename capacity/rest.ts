/**
 * The REST part of the bench: the same VUs (connections) for the same time against the endpoint, four ways:
 * the suite's REST scenario (its requests, tags, checks, metrics and raw output, as a runner runs it), the same
 * requests written by hand with k6 defaults (capacity/k6/rest-hand.js: like for like, so suite / hand is the
 * suite's own overhead), a minimal k6 script (one plain http.get in a loop), and wrk. Reports requests/s, the
 * tool's CPU and the endpoint's CPU (a run whose endpoint used ENDPOINT_BOUND_CORES or more is flagged: the
 * endpoint, not the tool, may have been the limit).
 */
import { rm } from 'node:fs/promises';
import type { LogFn } from '../runner/log.js';
import { cpuCores, otherCores, perSecond, ratio, type TimeWindow } from './figures.js';
import { k6TargetEnv, type EndpointProcess } from './endpoint-process.js';
import { measuredRun, metricValue, type MeasuredRunOptions } from './measured-run.js';
import { readMachineSample, sampleEvery, sampleProcess } from './proc-sampler.js';
import type { RestResult, RestRun } from './results.js';
import type { BenchScripts } from './scripts.js';
import { ensureWrk, parseWrkReport, startWrk } from './wrk.js';

/** VUs of each k6 run = wrk connections. */
export const REST_VUS = 32;
/** The endpoint is one Node process: at this many cores it may have been the limit of a run, not the tool. */
export const ENDPOINT_BOUND_CORES = 0.9;

export interface PartContext {
  k6Path: string;
  scripts: BenchScripts;
  endpoint: EndpointProcess;
  workDir: string;
  log: LogFn;
  onK6: MeasuredRunOptions['onStart'];
}

function describe(r: RestRun): string {
  const it = r.iterationsPerS !== null ? `, ${r.iterationsPerS.toFixed(0)} iterations/s` : '';
  return `${r.tool}: ${r.requestsPerS.toFixed(0)} requests/s${it}, tool CPU ${r.cpuCores.toFixed(2)} cores, endpoint CPU ${r.endpointCpuCores.toFixed(2)} cores${r.endpointBound ? ' (the endpoint may have been the limit)' : ''}, rest of the machine ${r.otherCpuCores.toFixed(2)} cores, failed ${(r.failedRate * 100).toFixed(2)} %`;
}

/** The load window without its first second (connections opening, JIT warming). */
function steadyWindow(w: TimeWindow): TimeWindow {
  return { fromMs: Math.min(w.fromMs + 1000, w.toMs - 500), toMs: w.toMs };
}

const REST_SCRIPTS = { suite: 'restSuite', hand: 'restHand', 'raw-k6': 'rawGet' } as const;

async function k6Rest(ctx: PartContext, tool: 'suite' | 'hand' | 'raw-k6', durationS: number): Promise<RestRun> {
  const suite = tool === 'suite';
  const run = await measuredRun({
    k6Path: ctx.k6Path,
    script: ctx.scripts[REST_SCRIPTS[tool]],
    name: `rest-${tool}`,
    workDir: ctx.workDir,
    env: { ...k6TargetEnv(ctx.endpoint), PROFILE: 'stage3', USER_POOL: '0', RUN_ID: 'bench', BENCH_VUS: String(REST_VUS), BENCH_DURATION: `${durationS}s` },
    rawOutput: suite,
    loadS: durationS,
    timeoutMs: (durationS + 120) * 1000,
    endpointPid: ctx.endpoint.pid,
    onStart: ctx.onK6,
  });
  if (run.rawPath) await rm(run.rawPath, { force: true });
  const requests = metricValue(run.metrics, 'http_reqs{scenario:rest}', 'count');
  if (run.exitCode === null || requests === 0) throw new Error(`${tool} REST run: k6 exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''}, ${requests} requests (log: ${run.logPath})`);
  const w = steadyWindow(run.window);
  return {
    tool,
    requests,
    requestsPerS: perSecond(requests, durationS),
    iterationsPerS: tool === 'raw-k6' ? null : perSecond(metricValue(run.metrics, 'iterations{scenario:rest}', 'count'), durationS),
    cpuCores: cpuCores(run.k6, w),
    endpointCpuCores: cpuCores(run.endpoint, w),
    endpointBound: cpuCores(run.endpoint, w) >= ENDPOINT_BOUND_CORES,
    otherCpuCores: otherCores(run.machine, [run.k6, run.endpoint], w),
    failedRate: metricValue(run.metrics, 'http_req_failed', 'rate'),
  };
}

async function wrkRest(ctx: PartContext, durationS: number): Promise<RestRun> {
  const start = Date.now();
  const wrk = startWrk(`${ctx.endpoint.url}/api/v1/rooms/r0/messages?limit=50`, { threads: 2, connections: REST_VUS, durationS, token: 'bench-token' });
  const wrkSampler = sampleProcess(wrk.pid);
  const endpointSampler = sampleProcess(ctx.endpoint.pid);
  const machineSampler = sampleEvery(readMachineSample);
  const { code, output } = await wrk.done;
  const samples = wrkSampler.stop();
  const endpointSamples = endpointSampler.stop();
  const machineSamples = machineSampler.stop();
  const report = parseWrkReport(output);
  if (code !== 0 || !report) throw new Error(`wrk run: exit ${code}: ${output.trim().split('\n').slice(-2).join(' | ')}`);
  const w = steadyWindow({ fromMs: start, toMs: start + durationS * 1000 });
  return {
    tool: 'wrk',
    requests: report.requests,
    requestsPerS: report.requestsPerS,
    iterationsPerS: null,
    cpuCores: cpuCores(samples, w),
    endpointCpuCores: cpuCores(endpointSamples, w),
    endpointBound: cpuCores(endpointSamples, w) >= ENDPOINT_BOUND_CORES,
    otherCpuCores: otherCores(machineSamples, [samples, endpointSamples], w),
    failedRate: report.requests > 0 ? report.failed / report.requests : 0,
  };
}

export async function benchRest(ctx: PartContext, durationS: number): Promise<RestResult> {
  ctx.log(`REST: ${REST_VUS} VUs/connections for ${durationS} s each: the suite's REST scenario, the same requests by hand, a minimal k6 script, wrk`);
  const suite = await k6Rest(ctx, 'suite', durationS);
  ctx.log(describe(suite));
  const hand = await k6Rest(ctx, 'hand', durationS);
  ctx.log(describe(hand));
  const rawK6 = await k6Rest(ctx, 'raw-k6', durationS);
  ctx.log(describe(rawK6));
  const wrkReady = await ensureWrk(ctx.log);
  let wrk: RestRun | null = null;
  if (wrkReady.ok) {
    wrk = await wrkRest(ctx, durationS);
    ctx.log(describe(wrk));
  } else {
    ctx.log(`wrk skipped: ${wrkReady.why}`);
  }
  const ratios = { suiteToHand: ratio(suite.requestsPerS, hand.requestsPerS), suiteToRawK6: ratio(suite.requestsPerS, rawK6.requestsPerS), suiteToWrk: ratio(suite.requestsPerS, wrk?.requestsPerS) };
  ctx.log(`REST ratios: suite / hand-written = ${ratios.suiteToHand?.toFixed(3) ?? 'n/a'}, suite / raw k6 = ${ratios.suiteToRawK6?.toFixed(3) ?? 'n/a'}, suite / wrk = ${ratios.suiteToWrk?.toFixed(3) ?? 'n/a'}`);
  return { vus: REST_VUS, durationS, suite, hand, rawK6, wrk, ...(wrkReady.ok ? {} : { wrkSkipped: wrkReady.why }), ratios };
}
