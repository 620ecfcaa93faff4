/**
 * `npm run bench [-- --duration 20s --max-sockets 16000 --out bench/results.json --only rest|sockets]`: the load
 * generator's capacity on this machine (capacity/README.md). Progress and figures on stderr as it goes, the
 * summary on stdout, everything in the results JSON. Exit 0 measured, 1 a measurement failed, 2 bad usage.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { progress } from '../runner/log.js';
import { formatPlan, planRunners, capacityOf } from '../split/plan.js';
import { ensureK6, K6 } from '../runner/provision.js';
import { BENCH_USAGE, parseBenchArgs, UsageError, type BenchOptions } from './config.js';
import { spawnEndpoint, type EndpointProcess } from './endpoint-process.js';
import { capacityFrom } from './figures.js';
import type { K6Process } from './k6-process.js';
import { describeMachine } from './machine.js';
import { openFilesLimit } from './proc-sampler.js';
import { benchRest, type PartContext } from './rest.js';
import { BenchResults } from './results.js';
import { prepareScripts } from './scripts.js';
import { benchSockets, ROOM_SIZE } from './sockets.js';
import { socketCap } from './steps.js';

async function bench(options: BenchOptions): Promise<number> {
  const log = progress('bench');
  const startedAt = new Date();
  const machine = describeMachine();
  log(`machine: ${machine.cores} cores (${machine.cpuModel}), ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${machine.kernel}, Node ${machine.node}, load average ${machine.loadAverage1mAtStart.toFixed(2)}`);
  const k6Path = await ensureK6({ log: progress('provision') });
  const k6Version = (await K6.installedVersion(k6Path)) ?? 'unknown';
  const workDir = await mkdtemp(join(tmpdir(), 'k6-bench-'));
  let endpoint: EndpointProcess | undefined;
  let current: K6Process | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted ??= sig;
    log(`${sig}: stopping`);
    current?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let ok = false;
  try {
    const scripts = await prepareScripts(workDir);
    endpoint = await spawnEndpoint(ROOM_SIZE);
    log(`k6 ${k6Version}; endpoint ${endpoint.url} (pid ${endpoint.pid}); work folder ${workDir}`);
    const ctx: PartContext = { k6Path, scripts, endpoint, workDir, log, onK6: (k6) => (current = k6) };
    const guard = (): void => {
      if (interrupted) throw new Error(`interrupted (${interrupted})`);
    };
    const rest = options.parts.rest ? await benchRest(ctx, options.durationS) : undefined;
    guard();
    const cap = socketCap(options.maxSockets, openFilesLimit(), 50);
    const sockets = options.parts.sockets ? await benchSockets(ctx, { durationS: options.durationS, maxSockets: cap.max, capReason: cap.reason }) : undefined;
    guard();
    const capacity = capacityFrom({ maxSteadySockets: sockets?.maxSteadySockets, suiteIterationsPerS: rest?.suite.iterationsPerS ?? undefined });
    const plan = planRunners('stage3', 1, capacityOf(capacity, displayPath(options.out)));
    const results = BenchResults.parse({
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      k6: { version: k6Version, path: k6Path },
      machine,
      options: { durationS: options.durationS, maxSockets: options.maxSockets, parts: (['rest', 'sockets'] as const).filter((p) => options.parts[p]) },
      ...(rest ? { rest } : {}),
      ...(sockets ? { sockets } : {}),
      capacity,
      runnersPer100k: { profile: 'stage3', runners: plan.runners, socketsPerRunner: plan.capacity.socketsPerRunner, restIterationsPerS: plan.capacity.restIterationsPerS, source: plan.capacity.source },
      notes: [
        `The endpoint ran on the same ${machine.cores} cores as k6, and other jobs may have shared them (load average ${machine.loadAverage1mAtStart.toFixed(2)} at the start): the figures are floors for a runner whose target is elsewhere.`,
        'capacity.socketsPerRunner: the most stage-3 room sockets one k6 process held with steady delivery; capacity.restIterationsPerS: REST iterations/s of the suite at full speed; each measured alone.',
      ],
    });
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(summaryText(results, options.out) + '\n' + formatPlan(plan) + '\n');
    ok = true;
    return 0;
  } catch (err) {
    log(`failed: ${(err as Error).message}; k6 logs kept in ${workDir}`);
    return interrupted ? (interrupted === 'SIGINT' ? 130 : 143) : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    current?.stop();
    await endpoint?.stop();
    if (ok) await rm(workDir, { recursive: true, force: true });
  }
}

/** A path relative to the working folder when it is inside it, else as given. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function summaryText(r: BenchResults, out: string): string {
  const lines = [`bench: k6 ${r.k6.version} on ${r.machine.cores} cores, ${(r.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, kernel ${r.machine.kernel}, Node ${r.machine.node}`];
  if (r.rest) {
    const x = r.rest;
    lines.push(`REST (${x.vus} VUs/connections, ${x.durationS} s each):`);
    for (const run of [x.suite, x.hand, x.rawK6, x.wrk]) {
      if (run) lines.push(`  ${run.tool.padEnd(7)} ${run.requestsPerS.toFixed(0).padStart(7)} requests/s${run.iterationsPerS !== null ? ` (${run.iterationsPerS.toFixed(0)} iterations/s)` : ''}, CPU ${run.cpuCores.toFixed(2)} cores, endpoint ${run.endpointCpuCores.toFixed(2)}${run.endpointBound ? ' (endpoint-bound)' : ''}, rest ${run.otherCpuCores.toFixed(2)}`);
    }
    if (x.wrkSkipped) lines.push(`  wrk skipped: ${x.wrkSkipped}`);
    lines.push(`  suite / hand-written = ${x.ratios.suiteToHand?.toFixed(3) ?? 'n/a'}, suite / raw k6 = ${x.ratios.suiteToRawK6?.toFixed(3) ?? 'n/a'}, suite / wrk = ${x.ratios.suiteToWrk?.toFixed(3) ?? 'n/a'}`);
  }
  if (r.sockets) {
    const s = r.sockets;
    lines.push(`Room sockets per k6 process (stage 3: ${s.socketsPerVu} per VU, a send every ${s.sendIntervalS} s, rooms of ${s.roomSize}, ${s.sessionS} s steps, steady = delivery p95 <= ${s.deliveryP95BoundMs} ms, no failed opens):`);
    for (const t of [{ tool: 'suite', steps: s.steps, maxSteadySockets: s.maxSteadySockets, stoppedBecause: s.stoppedBecause }, s.hand, s.client]) {
      lines.push(`  ${t.tool}:`);
      for (const st of t.steps) {
        lines.push(`  ${String(st.sockets).padStart(6)}  p95 ${st.deliveryP95Ms?.toFixed(1) ?? 'n/a'} ms  RSS ${(st.k6PeakRssBytes / 2 ** 20).toFixed(0)} MiB  ${(st.memoryPerSocketBytes / 1024).toFixed(1)} KiB/socket  CPU ${st.k6CpuCores.toFixed(2)} cores  ${st.cpuPerSocketMillicores.toFixed(3)} millicores/socket  endpoint ${st.endpointCpuCores.toFixed(2)}${st.endpointBound ? ' (endpoint-bound)' : ''}  rest ${st.otherCpuCores.toFixed(2)} cores  ${st.steady ? 'steady' : 'NOT steady'}`);
      }
      lines.push(`  most held steadily (${t.tool}): ${t.maxSteadySockets} (stopped: ${t.stoppedBecause})`);
    }
    lines.push(`  suite / hand-written = ${s.ratios.suiteToHand?.toFixed(3) ?? 'n/a'}, suite / ws client = ${s.ratios.suiteToClient?.toFixed(3) ?? 'n/a'}`);
  }
  lines.push(`capacity: ${r.capacity.socketsPerRunner ?? 'not measured'} sockets, ${r.capacity.restIterationsPerS ?? 'not measured'} REST iterations/s per runner → stage 3 (100,000 users) needs ${r.runnersPer100k.runners} runners`);
  lines.push(`written to ${displayPath(out)} (npm run load -- plan --profile stage3 --bench ${displayPath(out)})`);
  return lines.join('\n');
}

let code: number;
try {
  const parsed = parseBenchArgs(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(BENCH_USAGE + '\n');
    code = 0;
  } else {
    code = await bench(parsed.options);
  }
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`bench: ${err.message}\n`);
  code = 2;
}
process.exit(code);
