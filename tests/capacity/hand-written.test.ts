/**
 * The bench's hand-written k6 scripts (capacity/k6/rest-hand.js, ws-hand.js) make the same requests as the
 * suite's scenarios, counted where they arrive: the bench endpoint counts every request per route (ids replaced)
 * and every WebSocket upgrade and message frame. REST: each script runs 100 and then 300 shared iterations; the
 * difference of the counts is the requests of 200 iterations, setup left out, and must be equal per route.
 * Sockets: one VU of 50 sockets for one 20 s session (two scheduled sends per socket and the first socket's
 * idempotency repeat) by each script against its own endpoint, at the same time; upgrades and message frames
 * must be equal. Real k6, real endpoint (~40 s).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k6TargetEnv } from '../../capacity/endpoint-process.js';
import { startEndpoint, type RunningEndpoint } from '../../capacity/endpoint.js';
import { prepareScripts, type BenchScripts } from '../../capacity/scripts.js';
import { ensureK6 } from '../../runner/provision.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-hand-'));
let k6: string;
let scripts: BenchScripts;
const endpoints: RunningEndpoint[] = [];

beforeAll(async () => {
  k6 = await ensureK6({ log: () => {} });
  scripts = await prepareScripts(dir);
}, 120_000);
afterAll(async () => {
  for (const e of endpoints) await e.close();
  rmSync(dir, { recursive: true, force: true });
});

async function endpoint(): Promise<RunningEndpoint> {
  const e = await startEndpoint({ roomSize: 50 });
  endpoints.push(e);
  return e;
}

function runK6(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(k6, ['run', '--no-usage-report', '--address', '', '--quiet', script], {
      env: { ...process.env, ...env, SUMMARY_PATH: join(dir, 'summary.json'), K6_NO_USAGE_REPORT: 'true', USER_POOL: '0', RUN_ID: 'bench' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(log);
      else reject(new Error(`k6 ${script}: exit ${code}\n${log.slice(-2000)}`));
    });
  });
}

/** Requests per route of iterations [from, to) of a REST script (counts after `to` minus counts after `from`). */
async function restRequests(script: string, from: number, to: number): Promise<Record<string, number>> {
  const counts: Array<Record<string, number>> = [];
  for (const iterations of [from, to]) {
    const e = await endpoint();
    await runK6(script, { ...k6TargetEnv(e), PROFILE: 'stage3', BENCH_VUS: '4', BENCH_ITERATIONS: String(iterations) });
    counts.push(e.counts());
  }
  const [a, b] = counts as [Record<string, number>, Record<string, number>];
  const out: Record<string, number> = {};
  for (const route of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[route] ?? 0) - (a[route] ?? 0);
    if (d !== 0) out[route] = d;
  }
  return out;
}

describe('the hand-written bench scripts make the suite\'s requests', () => {
  it('REST: the same routes with the same counts over 200 iterations (setup left out)', async () => {
    const [suite, hand] = await Promise.all([restRequests(scripts.restSuite, 100, 300), restRequests(scripts.restHand, 100, 300)]);
    // what the suite's restActions make of iterations 100..299 (lib/rest-plan.ts), as the endpoint counted them
    expect(suite).toEqual({
      'POST /api/v1/rooms/:id/messages': 200,
      'GET /api/v1/rooms/:id/messages': 200,
      'GET /api/v1/rooms/:id/messages (cursor)': 20,
      'GET /api/v1/rooms': 10,
      'POST /api/v1/rooms': 4,
      'POST /api/v1/auth/login': 2,
    });
    expect(hand).toEqual(suite);
  }, 120_000);

  it('room sockets: the same upgrades and message frames for one VU\'s 20 s session', async () => {
    const [es, eh] = [await endpoint(), await endpoint()];
    const env = { PROFILE: 'stage3', DURATION: '120s', BENCH_VUS: '1', BENCH_SPREAD_S: '0', BENCH_SESSION_S: '20', BENCH_MAX_DURATION: '60s' };
    await Promise.all([runK6(scripts.wsSuite, { ...k6TargetEnv(es), ...env }), runK6(scripts.wsHand, { ...k6TargetEnv(eh), ...env })]);
    const ws = (c: Record<string, number>) => ({ upgrades: c['WS upgrade'], messages: c['WS message'] });
    // 50 sockets, two scheduled sends each in 20 s, and socket 0 repeats its first acknowledged message
    expect(ws(es.counts())).toEqual({ upgrades: 50, messages: 101 });
    expect(ws(eh.counts())).toEqual(ws(es.counts()));
  }, 120_000);
});
