// scratch: the suite's REST bench run with its raw output gzipped, plain, or none (interleaved rounds)
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnEndpoint, k6TargetEnv } from '../capacity/endpoint-process.js';
import { prepareScripts } from '../capacity/scripts.js';
import { ensureK6 } from '../runner/provision.js';
import { spawnK6 } from '../capacity/k6-process.js';
import { sampleProcess } from '../capacity/proc-sampler.js';
import { cpuCores } from '../capacity/figures.js';
import { readFileSync, statSync, rmSync } from 'node:fs';

const k6Path = await ensureK6({ log: () => {} });
const dir = await mkdtemp(join(tmpdir(), 'rawab-'));
const scripts = await prepareScripts(dir);
const endpoint = await spawnEndpoint(50);
const D = Number(process.env.D ?? 12);
for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
  for (const mode of (process.env.MODES ?? 'gz,tags').split(',')) {
    const raw = mode === 'none' ? undefined : join(dir, `raw-${mode}.json${mode === 'plain' ? '' : '.gz'}`);
    const summary = join(dir, 'sum.json');
    const k6 = spawnK6({ k6Path, script: scripts.restSuite, args: raw ? ['--out', `json=${raw}`] : [], env: { ...k6TargetEnv(endpoint), PROFILE: 'stage3', USER_POOL: '0', RUN_ID: 'bench', BENCH_VUS: '32', BENCH_DURATION: `${D}s`, SUMMARY_PATH: summary, GOGC: '400', ...(mode === 'tags' ? { K6_SYSTEM_TAGS: process.env.TAGS ?? 'status,method,name,group,check,error,error_code,scenario,service,expected_response' } : {}) }, logPath: join(dir, 'k6.log'), timeoutMs: (D + 60) * 1000 });
    const s = sampleProcess(k6.pid);
    const t0 = Date.now();
    await k6.done;
    const samples = s.stop();
    const m = JSON.parse(readFileSync(summary, 'utf8')).metrics;
    const reqs = m['http_reqs{scenario:rest}']?.values.count ?? m.http_reqs.values.count;
    const it = m['iterations{scenario:rest}']?.values.count ?? m.iterations.values.count;
    const w = { fromMs: t0 + 4000, toMs: Date.now() - 1500 };
    const cores = cpuCores(samples, w);
    const size = raw ? statSync(raw).size : 0;
    console.log(`${round} ${mode}: ${(reqs / D).toFixed(0)} req/s, ${(it / D).toFixed(0)} it/s, ${cores.toFixed(2)} cores, ${((cores * 1e6) / (it / D)).toFixed(0)} us CPU/it, raw ${(size / 1e6).toFixed(1)} MB`);
    if (raw) rmSync(raw, { force: true });
  }
}
await endpoint.stop();
process.exit(0);
