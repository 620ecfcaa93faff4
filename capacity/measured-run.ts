/**
 * One measured k6 run: k6 spawned on a bench script while /proc samples k6 and the endpoint, then k6's summary
 * data read back. The window of the load is [load start, load start + loadS].
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcSample, TimeWindow } from './figures.js';
import { k6GcTarget } from '../runner/k6-run.js';
import { spawnK6, type K6Process } from './k6-process.js';
import { readMachineSample, sampleEvery, sampleProcess } from './proc-sampler.js';

export interface MeasuredRunOptions {
  k6Path: string;
  script: string;
  /** Name of the run: its files in workDir are `<name>.log`, `<name>-summary.json`, `<name>-raw.json.gz`. */
  name: string;
  workDir: string;
  env: Record<string, string>;
  /** Run k6 as a suite runner does (runner/k6-run.ts): its raw JSON output, and GOGC K6_GOGC unless set. */
  rawOutput: boolean;
  /** Planned load seconds (the window). */
  loadS: number;
  timeoutMs: number;
  endpointPid: number;
  /** Called with the k6 process while it runs (to stop it on Ctrl-C). */
  onStart?: (k6: K6Process | undefined) => void;
}

export interface SummaryMetrics {
  [metric: string]: { values: Record<string, number> } | undefined;
}

export interface MeasuredRun {
  exitCode: number | null;
  timedOut: boolean;
  window: TimeWindow;
  k6: ProcSample[];
  endpoint: ProcSample[];
  /** the whole machine (readMachineSample). */
  machine: ProcSample[];
  metrics: SummaryMetrics;
  wallMs: number;
  logPath: string;
  rawPath: string | undefined;
}

/** A value of k6's summary data, 0 when the metric or the statistic is missing. */
export function metricValue(m: SummaryMetrics, metric: string, stat: string): number {
  return m[metric]?.values[stat] ?? 0;
}

export async function measuredRun(o: MeasuredRunOptions): Promise<MeasuredRun> {
  const started = Date.now();
  const summaryPath = join(o.workDir, `${o.name}-summary.json`);
  const logPath = join(o.workDir, `${o.name}.log`);
  const rawPath = o.rawOutput ? join(o.workDir, `${o.name}-raw.json.gz`) : undefined;
  const k6 = spawnK6({
    k6Path: o.k6Path,
    script: o.script,
    args: rawPath ? ['--out', `json=${rawPath}`] : [],
    // the suite's GC target as its runner sets it; the hand-written and minimal scripts keep k6's defaults
    env: { ...(o.rawOutput ? k6GcTarget({ ...process.env, ...o.env }) : {}), ...o.env, SUMMARY_PATH: summaryPath },
    logPath,
    timeoutMs: o.timeoutMs,
  });
  o.onStart?.(k6);
  const k6Sampler = sampleProcess(k6.pid);
  const endpointSampler = sampleProcess(o.endpointPid);
  const machineSampler = sampleEvery(readMachineSample);
  try {
    const result = await k6.done;
    const loadStart = (await k6.loadStart) ?? started;
    const metrics = await readFile(summaryPath, 'utf8')
      .then((t) => (JSON.parse(t) as { metrics?: SummaryMetrics }).metrics ?? {})
      .catch(() => ({}) as SummaryMetrics);
    return {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      window: { fromMs: loadStart, toMs: loadStart + o.loadS * 1000 },
      k6: k6Sampler.stop(),
      endpoint: endpointSampler.stop(),
      machine: machineSampler.stop(),
      metrics,
      wallMs: Date.now() - started,
      logPath,
      rawPath,
    };
  } finally {
    k6Sampler.stop();
    endpointSampler.stop();
    machineSampler.stop();
    o.onStart?.(undefined);
  }
}
