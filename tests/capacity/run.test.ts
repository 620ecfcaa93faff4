/**
 * One tiny real `npm run bench` (run it under the heavy-run lock): REST runs of 2 s and one socket step of 50
 * sockets by each tool (suite, hand-written k6, ws client), with the real k6, wrk and the bench's loopback endpoint. Checks the results file's shape and that its
 * numbers are positive and agree with each other; nothing about speed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchResults } from '../../capacity/results.js';
import { capacityOf, planRunners, readCapacity } from '../../split/plan.js';
import { repoRoot } from '../../runner/paths.js';

const TSX = join(repoRoot, 'node_modules/tsx/dist/cli.mjs');
const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
const out = join(dir, 'results.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let code: number | null;
let stdout = '';
let results: BenchResults;

beforeAll(async () => {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, 'capacity/cli.ts', '--duration', '2s', '--max-sockets', '50', '--out', out], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      code = c;
      resolve();
    });
  });
  results = BenchResults.parse(JSON.parse(readFileSync(out, 'utf8')));
}, 300_000);

describe('npm run bench, tiny', () => {
  it('exits 0, prints the figures and writes a valid results file with the k6 version and the machine', () => {
    expect(code).toBe(0);
    expect(stdout).toMatch(/REST \(32 VUs\/connections, 2 s each\)/);
    expect(stdout).toMatch(/most held steadily \(suite\): \d+/);
    expect(stdout).toMatch(/most held steadily \(hand\): \d+/);
    expect(stdout).toMatch(/most held steadily \(ws-client\): \d+/);
    expect(results.k6.version).toBe('v1.8.1');
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.memoryBytes).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.options).toEqual({ durationS: 2, maxSockets: 50, parts: ['rest', 'sockets'] });
  });

  it('REST: four runs with requests, CPU, and ratios that are the quotients of their rates', () => {
    const r = results.rest!;
    expect(r.vus).toBe(32);
    for (const run of [r.suite, r.hand, r.rawK6, r.wrk!]) {
      expect(run.requests).toBeGreaterThan(0);
      expect(run.requestsPerS).toBeGreaterThan(0);
      expect(run.cpuCores).toBeGreaterThan(0);
      expect(run.endpointCpuCores).toBeGreaterThan(0);
      expect(run.failedRate).toBe(0);
    }
    expect(r.suite.requestsPerS).toBeCloseTo(r.suite.requests / 2, 6);
    expect(r.rawK6.requestsPerS).toBeCloseTo(r.rawK6.requests / 2, 6);
    // A suite iteration posts a message and lists the room (lib/rest-plan.ts): 2 to 3 requests each.
    const perIteration = r.suite.requestsPerS / r.suite.iterationsPerS!;
    expect(perIteration).toBeGreaterThanOrEqual(2);
    expect(perIteration).toBeLessThanOrEqual(3);
    expect(r.hand.requestsPerS / r.hand.iterationsPerS!).toBeGreaterThanOrEqual(2);
    expect(r.hand.requestsPerS / r.hand.iterationsPerS!).toBeLessThanOrEqual(3);
    expect(r.rawK6.iterationsPerS).toBeNull();
    expect(r.ratios.suiteToHand).toBeCloseTo(r.suite.requestsPerS / r.hand.requestsPerS, 6);
    for (const run of [r.suite, r.hand, r.rawK6, r.wrk!]) expect(run.endpointBound).toBe(run.endpointCpuCores >= 0.9);
    expect(r.ratios.suiteToRawK6).toBeCloseTo(r.suite.requestsPerS / r.rawK6.requestsPerS, 6);
    expect(r.ratios.suiteToWrk).toBeCloseTo(r.suite.requestsPerS / r.wrk!.requestsPerS, 6);
  });

  it('sockets: one steady step of 50, memory and CPU per socket from its RSS over the idle baseline', () => {
    const s = results.sockets!;
    expect(s.steps).toHaveLength(1);
    const step = s.steps[0]!;
    expect(step).toMatchObject({ sockets: 50, vus: 1, openFailed: 0, closedEarly: 0, echoTimeouts: 0, steady: true, reasons: [] });
    expect(step.deliveries).toBeGreaterThanOrEqual(40); // one send per socket in the steady part
    expect(step.deliveryP95Ms).toBeGreaterThanOrEqual(0);
    expect(step.deliveryP95Ms!).toBeLessThanOrEqual(s.deliveryP95BoundMs);
    expect(s.idleRssBytes).toBeGreaterThan(0);
    expect(step.k6PeakRssBytes).toBeGreaterThan(s.idleRssBytes);
    expect(step.memoryPerSocketBytes).toBeCloseTo((step.k6PeakRssBytes - s.idleRssBytes) / 50, 6);
    expect(step.k6CpuCores).toBeGreaterThan(0);
    expect(step.cpuPerSocketMillicores).toBeCloseTo((step.k6CpuCores * 1000) / 50, 6);
    expect(s.maxSteadySockets).toBe(50);
    expect(s.stoppedBecause).toBe('reached the socket cap (--max-sockets 50)');
  });

  it('sockets: the hand-written k6 script and the ws client ran the same step, judged alike, with their ratios', () => {
    const s = results.sockets!;
    for (const t of [s.hand, s.client]) {
      expect(t.steps).toHaveLength(1);
      const step = t.steps[0]!;
      expect(step).toMatchObject({ sockets: 50, openFailed: 0, closedEarly: 0, echoTimeouts: 0 });
      expect(step.deliveries, t.tool).toBeGreaterThanOrEqual(40);
      expect(step.k6PeakRssBytes).toBeGreaterThan(t.idleRssBytes);
      expect(step.memoryPerSocketBytes).toBeCloseTo((step.k6PeakRssBytes - t.idleRssBytes) / 50, 6);
      expect(step.cpuPerSocketMillicores).toBeCloseTo((step.k6CpuCores * 1000) / 50, 6);
      expect(step.endpointBound).toBe(step.endpointCpuCores >= 0.9);
      expect(t.maxSteadySockets).toBe(step.steady ? 50 : 0);
    }
    expect(s.hand.tool).toBe('hand');
    expect(s.hand.idleRssBytes).toBeGreaterThan(0);
    expect(s.client.tool).toBe('ws-client');
    if (s.hand.maxSteadySockets > 0) expect(s.ratios.suiteToHand).toBeCloseTo(s.maxSteadySockets / s.hand.maxSteadySockets, 6);
    if (s.client.maxSteadySockets > 0) expect(s.ratios.suiteToClient).toBeCloseTo(s.maxSteadySockets / s.client.maxSteadySockets, 6);
  });

  it('capacity is the measured figures, and the plan reads it from the file', () => {
    expect(results.capacity).toEqual({ socketsPerRunner: 50, restIterationsPerS: Math.floor(results.rest!.suite.iterationsPerS!) });
    const fromFile = readCapacity(out);
    expect(fromFile).toEqual({ socketsPerRunner: 50, restIterationsPerS: results.capacity.restIterationsPerS, source: out });
    expect(results.runnersPer100k.runners).toBe(planRunners('stage3', 1, capacityOf(results.capacity, 'x')).runners);
    expect(stdout).toContain(`needs ${results.runnersPer100k.runners} runners`);
  });
});
