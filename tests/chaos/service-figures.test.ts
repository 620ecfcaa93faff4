// Each service's view of a fault (chaos/service-figures.ts: serviceFaultFigures), from raw k6 output with
// `service` tags: a service that fails during the fault shows its burst, latency and failover time while a service
// beside it stays clean; the printout's line per service (chaos/drill/serving-step.ts: formatServiceFault).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { formatServiceFault } from '../../chaos/drill/serving-step.js';
import { readServiceSamples, serviceFaultFigures } from '../../chaos/service-figures.js';

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
    const f = serviceFaultFigures(await readServiceSamples(path), { fault: 'pause', node: 'tenanthub-2', injectAt: T0 + 5000, healAt: T0 + 10_000 }, { errorRate: 0.01, p95Ms: 500 }, 2);
    expect(f['tenanthub']!.note).toBeUndefined();
    expect(f['tenanthub']!.maxMs).toBe(5900);
    // bad from the inject (empty seconds, then the 5.9 s request) until the heal second
    expect(f['tenanthub']!.failoverS).toBe(5);
  });

  it('shows the failing service’s burst and latency, and a clean service beside it', async () => {
    const path = join(dir, 'k6-raw.json.gz');
    writeFileSync(path, gzipSync(raw()));
    const samples = await readServiceSamples(path);
    const w = { fault: 'pause', node: 'dbman-1', injectAt: T0 + 5000, healAt: T0 + 10_000 };
    const f = serviceFaultFigures(samples, w, { errorRate: 0.01, p95Ms: 500 }, 2);
    // setup requests are left out; a request without the tag is `untagged`, never one of the services
    expect(Object.keys(f)).toEqual(['chat', 'orghub', 'session', 'untagged']);
    expect(f['session']).toMatchObject({ requests: 50, failed: 20, errorRate: 0.4, p95Ms: 1000, maxMs: 1000 });
    // good again only from the heal second on: the whole fault (5 s) counts as its failover
    expect(f['session']!.failoverS).toBe(5);
    expect(f['session']!.longestErrorBurst).toEqual({ seconds: 5, startOffsetS: 0, failed: 20 });
    expect(f['chat']).toMatchObject({ requests: 50, failed: 0, p95Ms: 40, longestErrorBurst: null, failoverS: 0 });
    // a service with requests now and then is not timed (its empty seconds are not stalls)
    expect(f['orghub']).toMatchObject({ requests: 1, failed: 0, failoverS: null, note: 'no requests before the fault: too sparse to time a failover' });
    expect(formatServiceFault('orghub', f['orghub']!)).toMatch(/^orghub: 0\/1 failed .* failover not timed \(no requests before the fault/);
    expect(formatServiceFault('chat', f['chat']!)).toBe('chat: 0/50 failed (0.0%), p95 40 ms max 40 ms, longest error burst none, failover 0s');
    expect(formatServiceFault('session', f['session']!)).toMatch(/^session: 20\/50 failed \(40\.0%\), p95 1000 ms .* longest error burst 5s \(20 failed\), failover 5s$/);
  });
});
