import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capacityFrom, cpuCores, peakRssBytes, perSecond, perSocket, ratio, type ProcSample } from '../../capacity/figures.js';
import { parseWrkReport } from '../../capacity/wrk.js';
import { capacityOf, DEFAULT_CAPACITY, planRunners, readCapacity } from '../../split/plan.js';
import { UsageError } from '../../runner/smoke-config.js';

const sample = (atMs: number, cpuS: number, rssMiB: number): ProcSample => ({ atMs, cpuS, rssBytes: rssMiB * 2 ** 20 });

describe('bench figures', () => {
  const samples = [sample(0, 0, 50), sample(1000, 0.5, 80), sample(2000, 2.0, 120), sample(3000, 3.5, 100), sample(4000, 3.6, 60)];

  it('CPU cores are CPU seconds over wall seconds between the first and last sample of the window', () => {
    expect(cpuCores(samples, { fromMs: 1000, toMs: 3000 })).toBeCloseTo(1.5);
    expect(cpuCores(samples, { fromMs: 0, toMs: 4000 })).toBeCloseTo(0.9);
    expect(cpuCores(samples, { fromMs: 1500, toMs: 2500 })).toBe(0); // one sample: no interval
    expect(cpuCores([], { fromMs: 0, toMs: 10 })).toBe(0);
  });

  it('peak RSS is the highest sample inside the window', () => {
    expect(peakRssBytes(samples, { fromMs: 0, toMs: 4000 })).toBe(120 * 2 ** 20);
    expect(peakRssBytes(samples, { fromMs: 2500, toMs: 4000 })).toBe(100 * 2 ** 20);
    expect(peakRssBytes(samples, { fromMs: 5000, toMs: 6000 })).toBe(0);
  });

  it('rates, ratios and per-socket figures', () => {
    expect(perSecond(300, 20)).toBe(15);
    expect(perSecond(300, 0)).toBe(0);
    expect(ratio(1000, 4000)).toBe(0.25);
    expect(ratio(1000, 0)).toBeNull();
    expect(ratio(1000, null)).toBeNull();
    // 1000 sockets: 250 MiB peak over a 50 MiB idle k6 = 200 MiB / 1000 = 204.8 KiB per socket; 0.4 cores = 0.4 millicores each.
    const per = perSocket({ sockets: 1000, peakRssBytes: 250 * 2 ** 20, cpuCores: 0.4 }, 50 * 2 ** 20);
    expect(per.memoryBytes).toBeCloseTo((200 * 2 ** 20) / 1000);
    expect(per.cpuMillicores).toBeCloseTo(0.4);
    expect(perSocket({ sockets: 10, peakRssBytes: 10, cpuCores: 1 }, 50).memoryBytes).toBe(0); // never negative
  });

  it('capacity: measured figures, null for what was not measured or held nothing', () => {
    expect(capacityFrom({ maxSteadySockets: 4000, suiteIterationsPerS: 1234.9 })).toEqual({ socketsPerRunner: 4000, restIterationsPerS: 1234 });
    expect(capacityFrom({ maxSteadySockets: 0, suiteIterationsPerS: undefined })).toEqual({ socketsPerRunner: null, restIterationsPerS: null });
  });

  it('the plan takes the measured capacity, keeps defaults for unmeasured parts and names its source', () => {
    expect(capacityOf(undefined, 'x')).toBe(DEFAULT_CAPACITY);
    expect(capacityOf({ socketsPerRunner: null, restIterationsPerS: null }, 'x')).toBe(DEFAULT_CAPACITY);
    const partial = capacityOf({ socketsPerRunner: 2000, restIterationsPerS: null }, 'b.json');
    expect(partial).toEqual({ socketsPerRunner: 2000, restIterationsPerS: DEFAULT_CAPACITY.restIterationsPerS, source: 'b.json; default for REST' });
    // Twice the sockets per runner: about half the runners for stage 3 (sockets dominate it).
    const a = planRunners('stage3', 1, { socketsPerRunner: 4000, restIterationsPerS: 100_000, source: 'a' });
    const b = planRunners('stage3', 1, { socketsPerRunner: 8000, restIterationsPerS: 100_000, source: 'b' });
    expect(a.runners).toBe(Math.ceil(a.peakSockets / 4000));
    expect(b.runners).toBe(Math.ceil(b.peakSockets / 8000));
  });

  it('readCapacity: a results file, a missing file (default), a malformed one (usage error)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-plan-'));
    const good = join(dir, 'results.json');
    await writeFile(good, JSON.stringify({ capacity: { socketsPerRunner: 3000, restIterationsPerS: 900 } }));
    expect(readCapacity(good)).toEqual({ socketsPerRunner: 3000, restIterationsPerS: 900, source: good });
    expect(readCapacity(join(dir, 'none.json'))).toBe(DEFAULT_CAPACITY);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ capacity: { socketsPerRunner: -1 } }));
    expect(() => readCapacity(bad)).toThrow(UsageError);
    await writeFile(bad, '{not json');
    expect(() => readCapacity(bad)).toThrow(/--bench/);
    await rm(dir, { recursive: true, force: true });
  });

  it("wrk's report", () => {
    const text = `Running 3s test @ http://127.0.0.1:1/api/v1/rooms/r0/messages?limit=50
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.51us  300.11us   9.12ms   90.00%
    Req/Sec    27.30k     1.20k   29.90k    70.00%
  162678 requests in 3.00s, 150.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  54226.10
Transfer/sec:     50.00MB
`;
    expect(parseWrkReport(text)).toEqual({ requests: 162678, requestsPerS: 54226.1, failed: 8 });
    expect(parseWrkReport('unable to connect to 127.0.0.1:1 Connection refused')).toBeUndefined();
  });
});
