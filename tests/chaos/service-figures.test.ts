// Each service's view of a fault, from raw k6 output with `service` tags: a service that fails during the fault
// shows its burst and latency while a service beside it stays clean.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { formatServiceFigures, readServiceSeries, serviceFaultFigures } from '../../chaos/service-figures.js';

const T0 = Date.parse('2026-12-02T10:00:00.000Z');
const dir = mkdtempSync(join(tmpdir(), 'service-figures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function point(metric: string, atMs: number, value: number, tags: Record<string, string>): string {
  return JSON.stringify({ metric, type: 'Point', data: { time: new Date(atMs).toISOString(), value, tags } });
}

/** 20 s, 10 requests a second per service; session fails 4 of 10 (1 s each) in seconds 5..9, chat never. */
function raw(): string {
  const lines: string[] = [];
  for (let s = 0; s < 20; s++) {
    const phase = s < 5 ? 'baseline' : s < 10 ? 'fault' : 'recovery';
    for (let i = 0; i < 10; i++) {
      const at = T0 + s * 1000 + i * 100 + 50;
      const sessionFails = phase === 'fault' && i < 4;
      lines.push(point('http_req_duration', at, 40, { service: 'chat', phase }), point('http_req_failed', at, 0, { service: 'chat', phase }));
      lines.push(point('http_req_duration', at, sessionFails ? 1000 : 30, { service: 'session', phase }), point('http_req_failed', at, sessionFails ? 1 : 0, { service: 'session', phase }));
    }
  }
  // a sparse service: one login in the fault
  lines.push(point('http_req_duration', T0 + 7000, 80, { service: 'orghub', phase: 'fault' }), point('http_req_failed', T0 + 7000, 0, { service: 'orghub', phase: 'fault' }));
  // setup requests and untagged ones are not a service's traffic
  lines.push(point('http_req_failed', T0 + 6000, 1, { service: 'orghub', phase: 'setup' }), point('http_req_failed', T0 + 6000, 1, { phase: 'fault' }));
  return `${lines.join('\n')}\n`;
}

describe('per-service fault figures', () => {
  it('times a steady service that stalls (no request ends for seconds): the stall is not taken for sparseness', async () => {
    const lines: string[] = [];
    for (let s = 0; s < 20; s++) {
      const phase = s < 5 ? 'baseline' : s < 10 ? 'fault' : 'recovery';
      // tenanthub: 5 a second, but nothing ends in seconds 5..8; one request waits until the heal (5.9 s)
      const n = s >= 5 && s < 9 ? 0 : 5;
      for (let i = 0; i < n; i++) {
        const at = T0 + s * 1000 + i * 200 + 50;
        const ms = s === 9 && i === 0 ? 5900 : 20;
        lines.push(point('http_req_duration', at, ms, { service: 'tenanthub', phase }), point('http_req_failed', at, 0, { service: 'tenanthub', phase }));
      }
    }
    const path = join(dir, 'stall.json');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const f = serviceFaultFigures(await readServiceSeries(path), { fault: 'pause', node: 'tenanthub-2', injectAt: T0 + 5000, healAt: T0 + 10_000 }, { errorRate: 0.01, p95Ms: 500 }, 2);
    expect(f['tenanthub']!.note).toBeUndefined();
    expect(f['tenanthub']!.maxDuringFaultMs).toBe(5900);
    // bad from the inject (empty seconds, then the 5.9 s request) until the heal second
    expect(f['tenanthub']!.failoverS).toBe(5);
  });

  it('shows the failing service’s burst and latency, and a clean service beside it', async () => {
    const path = join(dir, 'k6-raw.json.gz');
    writeFileSync(path, gzipSync(raw()));
    const bySvc = await readServiceSeries(path);
    expect(Object.keys(bySvc)).toEqual(['chat', 'orghub', 'session']);
    const w = { fault: 'pause', node: 'dbman-1', injectAt: T0 + 5000, healAt: T0 + 10_000 };
    const f = serviceFaultFigures(bySvc, w, { errorRate: 0.01, p95Ms: 500 }, 2);
    expect(f['session']).toMatchObject({ requestsDuringFault: 50, failedDuringFault: 20, p95DuringFaultMs: 1000, maxDuringFaultMs: 1000 });
    // good again only from the heal second on: the whole fault (5 s) counts as its failover
    expect(f['session']!.failoverS).toBe(5);
    expect(f['session']!.longestErrorBurst).toEqual({ seconds: 5, startOffsetS: 0, failed: 20 });
    expect(f['chat']).toMatchObject({ requestsDuringFault: 50, failedDuringFault: 0, p95DuringFaultMs: 40, longestErrorBurst: null, failoverS: 0 });
    // a service with requests now and then is not timed (its empty seconds are not stalls)
    expect(f['orghub']).toMatchObject({ requestsDuringFault: 1, failedDuringFault: 0, failoverS: null, note: 'no requests before the fault: too sparse to time a failover' });
    const lines = formatServiceFigures(f);
    expect(lines[1]).toMatch(/orghub: failed 0\/1 .* failover not timed \(no requests before the fault/);
    expect(lines[0]).toMatch(/^ {4}chat: failed 0\/50 during the fault, p95 40 ms max 40 ms, longest error burst none, failover 0s$/);
    expect(lines[2]).toMatch(/session: failed 20\/50 during the fault, p95 1000 ms .* longest error burst 5s \(20 failed\), failover 5s$/);
  });
});
