/**
 * How much memory judging a merged run takes, kept values (the old merge: every sample value of every
 * thresholded series in arrays) against merged SeriesStats (the merge now). Not a test: it prints figures.
 *
 *   npx tsx split/merge-memory.ts [samples=5000000] [parts=3]
 *
 * Writes `parts` synthetic k6 raw files (gzip) under a temp dir with `samples` Point lines in all, spread over
 * the metrics the suite thresholds (three submetric filters per sample, as http_req_duration{endpoint:…} and
 * friends do), then judges them once per method, each in a fresh child process, and prints the peak RSS and
 * the time of each, plus the p(95) both give. With NODE_OPTIONS=--max-old-space-size=48 the heap is capped:
 * the merged stats still judge 5 million samples, the kept values run out of memory.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { countSamples } from '../runner/raw.js';
import { parseMetricName, percentile } from '../runner/verdict.js';
import { mergedStats } from './merge.js';

/** Thresholded (sub)metrics as the merge names them. */
const KEYS = ['http_req_duration', 'http_req_duration{endpoint:message_store}', 'http_req_duration{phase:baseline}', 'message_store_latency'];

async function writeParts(dir: string, samples: number, parts: number): Promise<string[]> {
  const files: string[] = [];
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let p = 0; p < parts; p++) {
    const path = join(dir, `part-${p + 1}.json.gz`);
    const gz = createGzip({ level: 1 });
    const out = createWriteStream(path);
    gz.pipe(out);
    const n = Math.floor(samples / parts) + (p < samples % parts ? 1 : 0);
    for (let i = 0; i < n; i++) {
      const value = Math.round(20 * Math.exp(2 * rnd() - 1 + (rnd() < 0.05 ? 2 : 0)) * 1000) / 1000;
      const metric = i % 4 === 3 ? 'message_store_latency' : 'http_req_duration';
      const line = `{"metric":"${metric}","type":"Point","data":{"time":"2026-11-30T22:00:00.000000001Z","value":${value},"tags":{"endpoint":"${i % 2 ? 'message_store' : 'message_list'}","phase":"baseline","scenario":"rest"}}}\n`;
      if (!gz.write(line)) await once(gz, 'drain');
    }
    gz.end();
    await once(out, 'finish');
    files.push(path);
  }
  return files;
}

/** Child: judge `files` with one method, print JSON {rssMb, ms, p95}. */
async function judge(method: 'values' | 'stats', files: string[]): Promise<void> {
  const t0 = Date.now();
  let p95: number | null;
  if (method === 'values') {
    // as the merge did: every value of every thresholded series kept, percentiles of the sorted values
    const all = new Map(KEYS.map((k) => [k, [] as number[]]));
    for (const file of files) await countSamples(file, KEYS.map((key) => ({ key, ...parseMetricName(key), onValue: (v: number) => all.get(key)!.push(v) })));
    p95 = percentile(all.get(KEYS[0]!)!, 95);
  } else {
    p95 = (await mergedStats(KEYS, files)).get(KEYS[0]!)!.percentile(95);
  }
  process.stdout.write(JSON.stringify({ rssMb: Math.round(process.resourceUsage().maxRSS / 1024), ms: Date.now() - t0, p95 }) + '\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return judge(process.argv[3] as 'values' | 'stats', process.argv.slice(4));
  const samples = Number(process.argv[2] ?? 5_000_000);
  const parts = Number(process.argv[3] ?? 3);
  const dir = await mkdtemp(join(tmpdir(), 'merge-memory-'));
  try {
    const files = await writeParts(dir, samples, parts);
    console.log(`${samples} samples in ${parts} parts (${KEYS.length} thresholded series, as the merge judges them)`);
    for (const method of ['values', 'stats'] as const) {
      const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', method, ...files], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const label = method === 'values' ? 'kept values (before)' : 'merged stats (now)  ';
      if (r.status !== 0) {
        const oom = /heap out of memory|Allocation failed/i.test(r.stderr);
        console.log(`${label}: failed (${oom ? 'JavaScript heap out of memory' : r.stderr.trim().split('\n').pop()})`);
        continue;
      }
      const { rssMb, ms, p95 } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rssMb: number; ms: number; p95: number };
      console.log(`${label}: peak RSS ${rssMb} MB, ${(ms / 1000).toFixed(1)} s, p(95) ${p95.toFixed(3)} ms`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
