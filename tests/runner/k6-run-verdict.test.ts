/**
 * The k6 runner, the raw-output reader, the verdict and the JUnit file, on real k6 output: the tiny fixture
 * script run by the real k6 against a local node:http server (see k6-fixture.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { forEachPoint } from '../../runner/raw.js';
import { K6_GOGC, k6ChildEnv, parseLoadStartMs, parseRunningClock, redact } from '../../runner/k6-run.js';
import { readK6SummaryData, RunSummary } from '../../runner/summary.js';
import { formatSummary, judgeThresholds, percentile, verdictOf } from '../../runner/verdict.js';
import { junitXml } from '../../runner/junit.js';
import { runTiny, SECRET_EMAIL, SECRET_PASSWORD, type TinyRun } from './k6-fixture.js';

let tiny: TinyRun;

beforeAll(async () => {
  tiny = await runTiny();
}, 600_000); // a fresh machine builds k6 first

describe('runK6 on real k6', () => {
  it('runs to the end with k6 exit 99 (a threshold crossed) and reports timing', async () => {
    expect(tiny.result.exitCode).toBe(99);
    expect(tiny.result.timedOut).toBe(false);
    expect(tiny.events).toEqual(['spawn', 'load-start', 'finish']);
    const { spawnedAt, loadStartedAt, finishedAt } = tiny.result;
    expect(loadStartedAt).toBeInstanceOf(Date);
    expect(loadStartedAt!.getTime()).toBeGreaterThanOrEqual(spawnedAt.getTime() - 50);
    // 2 s of load after the load start, which is the one the script announced.
    expect(finishedAt.getTime() - loadStartedAt!.getTime()).toBeGreaterThanOrEqual(2000);
    const announced = readFileSync(tiny.result.paths.log, 'utf8').match(/load_start_ms=(\d+)/)![1];
    expect(loadStartedAt!.getTime()).toBe(Number(announced));
    await expect(tiny.run.loadStarted).resolves.toEqual(loadStartedAt);
    expect(tiny.requests).toBeGreaterThan(10);
  });

  it('writes gzip raw output, k6 summary data and a log, with the credentials redacted', async () => {
    const raw = await readFile(tiny.result.paths.raw);
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const log = await readFile(tiny.result.paths.log, 'utf8');
    expect(log).toContain('logging in as *** with ***');
    expect(log).not.toContain(SECRET_PASSWORD);
    expect(log).not.toContain(SECRET_EMAIL);
    expect(tiny.lines.join('\n')).not.toContain(SECRET_PASSWORD);
    expect(tiny.lines.some((l) => /running \(/.test(l))).toBe(true);
    // Progress is compact: k6's per-scenario bars stay in k6.log only.
    expect(log).toMatch(/^tiny +(✓ )?\[ *\d+% \]/m);
    expect(tiny.lines.some((l) => /^tiny +(✓ )?\[ *\d+% \]/.test(l))).toBe(false);
    expect(tiny.lines.filter((l) => l.startsWith('running (')).length).toBeLessThan(log.split('\n').filter((l) => l.startsWith('running (')).length);
    expect(readK6SummaryData(tiny.result.paths.summary).metrics['http_reqs']!.values.count).toBeGreaterThan(10);
    // The password is not on k6's command line either (it goes through the environment).
    expect(log.split('\n')[0]).not.toContain(SECRET_PASSWORD);
  });
});

describe('k6 output parsers (lines as k6 v1.8.1 prints them)', () => {
  it('reads the test-run clock of progress lines', () => {
    expect(parseRunningClock('running (02.9s), 04/08 VUs, 4 complete and 0 interrupted iterations')).toBe(2.9);
    expect(parseRunningClock('running (01m02.5s), 10/10 VUs, 9 complete and 0 interrupted iterations')).toBe(62.5);
    expect(parseRunningClock('running (1h02m03.0s), 1/1 VUs, 9 complete and 0 interrupted iterations')).toBe(3723);
    expect(parseRunningClock('Run        [ 100% ] setup()')).toBeUndefined();
    expect(parseRunningClock('hot_room ✓ [ 100% ] 2 VUs      01.0s/45s  2/2 iters, 1 per VU')).toBeUndefined();
  });

  it('reads the load start announced by the scenario', () => {
    const line = 'time="2026-11-23T14:22:44Z" level=info msg="suite: run_id=20261123T142242Z-smoke-smoke profile=smoke ready=false reason=\\"admin login failed\\" users=0 rooms=0 load_start_ms=1795443764387" source=console';
    expect(parseLoadStartMs(line)).toBe(1795443764387);
    expect(parseLoadStartMs('time="x" level=info msg="load_start_ms=1795443764387" source=console')).toBeUndefined();
  });

  it('never passes K6_HTTP_DEBUG on to k6 (it would print response bodies: the tenants list, tokens)', () => {
    const r = k6ChildEnv({ PATH: '/bin', K6_HTTP_DEBUG: 'full', K6_OTHER: '1' }, { CHAT_URL: 'http://127.0.0.1:1' });
    expect(r.dropped).toEqual(['K6_HTTP_DEBUG']);
    expect(r.env).toEqual({ GOGC: K6_GOGC, PATH: '/bin', K6_OTHER: '1', CHAT_URL: 'http://127.0.0.1:1' });
    expect(k6ChildEnv({ PATH: '/bin' }, {}).dropped).toEqual([]);
  });

  it("sets k6's GC target (GOGC) unless the environment has one", () => {
    expect(K6_GOGC).toBe('400');
    expect(k6ChildEnv({ PATH: '/bin' }, {}).env.GOGC).toBe('400');
    expect(k6ChildEnv({ PATH: '/bin', GOGC: '100' }, {}).env.GOGC).toBe('100');
  });

  it('redacts secrets and their URL-encoded form', () => {
    expect(redact('login a@b.c with p@ss w/rd, url p%40ss%20w%2Frd', ['p@ss w/rd', 'a@b.c'])).toBe('login *** with ***, url ***');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0aWQiOiJkZWZhdWx0In0.c2lnbmF0dXJlLXBhcnQ';
    expect(redact(`dial ws://127.0.0.1:8080/ws?room_id=r1&access_token=${jwt}: refused`, [])).toBe('dial ws://127.0.0.1:8080/ws?room_id=r1&access_token=***: refused');
    expect(redact(`token ${jwt} and Authorization: Bearer abc.def`, [])).toBe('token *** and Authorization: Bearer ***');
    expect(redact('access_token=opaque-value&x=1', [])).toBe('access_token=***&x=1');
  });
});

describe('verdict on real k6 output', () => {
  it('keeps k6 pass/fail, counts samples and makes a threshold without samples a failure', async () => {
    const data = readK6SummaryData(tiny.result.paths.summary);
    const t = await judgeThresholds(data, tiny.result.paths.raw);
    const by = Object.fromEntries(t.map((x) => [x.name, x]));
    expect(Object.keys(by).sort()).toEqual([
      'checks{check:status is 200}: rate>0.4',
      'http_req_duration{endpoint:missing}: p(95)<300',
      'http_req_duration{endpoint:ok}: p(95)<3000',
      'http_req_duration{endpoint:ok}: p(99)<5000',
      'http_req_failed: rate<0.01',
      'never_seen: count>=0',
    ]);
    const ok95 = by['http_req_duration{endpoint:ok}: p(95)<3000']!;
    expect(ok95).toMatchObject({ result: 'pass', k6Ok: true, aggregation: 'p(95)', operator: '<', limit: 3000, unit: 'ms', tags: { endpoint: 'ok' } });
    expect(ok95.samples).toBe(data.metrics['http_reqs']!.values.count! / 2);
    expect(ok95.observed).toBe(data.metrics['http_req_duration{endpoint:ok}']!.values['p(95)']);
    const failed = by['http_req_failed: rate<0.01']!;
    expect(failed).toMatchObject({ result: 'fail', k6Ok: false, id: 'error_rate', meaning: 'failed requests, at most 1 %', abortOnFail: false });
    expect(ok95.id).toBeUndefined();
    expect(failed.observed).toBeCloseTo(0.5, 2);
    expect(by['checks{check:status is 200}: rate>0.4']).toMatchObject({ result: 'pass', tags: { check: 'status is 200' } });
    // k6 passed these two; they measured nothing.
    for (const name of ['http_req_duration{endpoint:missing}: p(95)<300', 'never_seen: count>=0']) {
      expect(by[name]).toMatchObject({ result: 'no-samples', k6Ok: true, samples: 0, observed: null });
    }
    expect(verdictOf(t, [])).toBe('fail');
    expect(verdictOf(t.filter((x) => x.result === 'pass'), [])).toBe('pass');
    expect(verdictOf(t.filter((x) => x.result === 'pass'), ['k6 exited with code 107'])).toBe('fail');
    expect(verdictOf(t.filter((x) => x.result === 'no-samples'), [])).toBe('fail');
    expect(verdictOf([], [])).toBe('fail');
  });

  it('computes percentiles from raw samples the way k6 does', async () => {
    const data = readK6SummaryData(tiny.result.paths.summary);
    const values: number[] = [];
    await forEachPoint(tiny.result.paths.raw, (p) => { if (p.tags.endpoint === 'ok') values.push(p.value); }, new Set(['http_req_duration']));
    const k6 = data.metrics['http_req_duration{endpoint:ok}']!.values;
    expect(percentile(values, 95)).toBeCloseTo(k6['p(95)']!, 6);
    expect(percentile(values, 99)).toBeCloseTo(k6['p(99)']!, 6);
    expect(values.length).toBe(k6['count']);
  });

  it('prints an aligned human summary with observed value and limit', async () => {
    const t = await judgeThresholds(readK6SummaryData(tiny.result.paths.summary), tiny.result.paths.raw);
    const text = formatSummary('fail', t);
    const lines = text.split('\n');
    expect(lines[0]).toBe('verdict: FAIL (3 of 6 thresholds breached)');
    expect(text).toMatch(/FAIL +error_rate: http_req_failed rate +50 % +< 1 %/);
    expect(text).toMatch(/NO SAMPLES +never_seen count +— \(0 samples\) +>= 0/);
    // The observed column is right-aligned: every row ends it at the same column.
    const rows = lines.slice(2);
    const ends = rows.map((r) => r.search(/ {2}[<>=!]=? \S/));
    expect(new Set(ends).size).toBe(1);
  });

  it('writes well-formed JUnit XML with one case per threshold and no-samples as failures', async () => {
    const t = await judgeThresholds(readK6SummaryData(tiny.result.paths.summary), tiny.result.paths.raw);
    const xml = junitXml({ runId: 'r1', kind: 'smoke', profile: 'smoke', thresholds: t, errors: ['k6 <exited> & "died"'], finishedAt: new Date().toISOString(), durations: { loadMs: 2000 } });
    // Parsed by a real XML parser (Python's expat), not by eye.
    const parsed = execFileSync('python3', ['-c', `
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
s = root.find('testsuite')
print(s.get('tests'), s.get('failures'), len(s.findall('testcase')), len(s.findall('testcase/failure')))
for c in s.findall('testcase'):
    f = c.find('failure')
    if f is not None: print(c.get('classname'), '|', c.get('name'), '|', f.get('type'), '|', f.get('message'))
`], { input: xml, encoding: 'utf8' });
    const [counts, ...failures] = parsed.trim().split('\n');
    expect(counts).toBe('7 4 7 4');
    expect(failures).toContain('k6.smoke.smoke.http_req_failed | rate<0.01 | threshold-breached | observed rate = 50 %, limit < 1 %');
    expect(failures.some((f) => f.startsWith('k6.smoke.smoke.never_seen | count>=0 | no-samples | no samples'))).toBe(true);
    expect(failures).toContain('k6.smoke.smoke | run | run-error | k6 <exited> & "died"');
  });

  it('RunSummary schema accepts what the verdict produces', async () => {
    const t = await judgeThresholds(readK6SummaryData(tiny.result.paths.summary), tiny.result.paths.raw);
    const now = new Date().toISOString();
    const s = RunSummary.parse({
      runId: 'x', kind: 'smoke', profile: 'smoke', verdict: 'fail', errors: [], startedAt: now, finishedAt: now,
      durations: { loadMs: 1 }, k6Version: 'v1.8.1', k6ExitCode: 99, gitRevision: 'abc',
      target: { name: 't', chatUrl: 'http://127.0.0.1:1', authUrl: 'http://127.0.0.1:2', wsUrl: 'ws://127.0.0.1:1/ws', tenantId: 'default', reference: false },
      thresholds: t, files: { summary: 'summary.json' },
    });
    expect(s.thresholds).toHaveLength(6);
    expect(() => RunSummary.parse({ ...s, verdict: 'maybe' })).toThrow();
    expect(readFileSync(tiny.result.paths.summary, 'utf8')).toContain('"thresholds"');
  });
});
