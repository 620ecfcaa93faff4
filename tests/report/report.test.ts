/**
 * The report of a real drill-like run (real k6 against a local server that fails in a known window): the model
 * agrees with k6's own figures, the HTML is self-contained and escaped, and in headless Chromium the page has
 * no console errors, fetches nothing, draws its charts, and puts the fault band at drill.json's inject and heal
 * times (measured on the canvas pixels, against the chart's x scale).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeFixtureRun, type FixtureRun } from './fixture.js';
import { openBrowser, type Session } from './browser.js';
import { writeRunReport, readModel, markdownSummary, type ReportModel } from '../../report/index.js';
import { Histogram, readRaw } from '../../report/raw.js';
import { esc, redact } from '../../report/html.js';

/** References that would make a browser fetch from the network. */
function externalRefs(text: string): string[] {
  return [
    ...text.matchAll(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\/[^\s"'>]*/gi),
    ...text.matchAll(/url\(\s*["']?\s*(?:https?:)?\/\/[^)]*\)/gi),
    ...text.matchAll(/@import[^;]*;/gi),
  ].map((m) => m[0]);
}

let root: string;
let run: FixtureRun;
let reportPath: string;
let html: string;
let model: ReportModel;
let stepSummary: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'report-test-'));
  run = await makeFixtureRun(join(root, '20261123T120000Z-drill-fixture'), { durationS: 9, faultAtS: 3, faultForS: 2.5 });
  stepSummary = join(root, 'step-summary.md');
  writeFileSync(stepSummary, '# earlier content\n');
  process.env['GITHUB_STEP_SUMMARY'] = stepSummary;
  try {
    reportPath = await writeRunReport(run.dir);
  } finally {
    delete process.env['GITHUB_STEP_SUMMARY'];
  }
  html = readFileSync(reportPath, 'utf8');
  model = readModel(run.dir)!;
}, 90_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('histogram', () => {
  it('reads percentiles within 1.5 % of the exact value', () => {
    const h = new Histogram();
    const values: number[] = [];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const v = 1 + ((seed / 2 ** 31) ** 3) * 2000;
      values.push(v);
      h.add(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      expect(Math.abs(h.quantile(q)! - exact) / exact).toBeLessThan(0.015);
    }
    expect(new Histogram().quantile(0.95)).toBeNull();
  });
});

describe('model from real k6 output', () => {
  it('reads the gzipped raw output and the plain one alike', async () => {
    const gz = await readRaw(join(run.dir, 'k6-raw.json.gz'));
    expect(gz.badLines).toBe(0);
    expect(gz.total.reqs).toBeGreaterThan(100);
    const plain = join(root, 'plain.json');
    writeFileSync(plain, gunzipSync(readFileSync(join(run.dir, 'k6-raw.json.gz'))));
    const p = await readRaw(plain);
    expect(p.total.reqs).toBe(gz.total.reqs);
    expect([...p.seconds.keys()]).toEqual([...gz.seconds.keys()]);
  });

  it('reads a gzip cut short up to the cut and says so', async () => {
    const whole = readFileSync(join(run.dir, 'k6-raw.json.gz'));
    const cut = join(root, 'cut.json.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const full = await readRaw(join(run.dir, 'k6-raw.json.gz'));
    const part = await readRaw(cut);
    expect(full.truncated).toBe(false);
    expect(part.truncated).toBe(true);
    expect(part.total.reqs).toBeGreaterThan(0);
    expect(part.total.reqs).toBeLessThan(full.total.reqs);
  });

  it('agrees with the thresholds k6 judged: sample counts and error rates exactly, p95 within the histogram resolution', () => {
    const summary = JSON.parse(readFileSync(join(run.dir, 'summary.json'), 'utf8'));
    const byMetric = new Map<string, { observed: number; samples: number }>(
      summary.thresholds.map((t: { metric: string; observed: number; samples: number }) => [t.metric, t]),
    );
    const durations = new Map<string, number[]>();
    for (const line of gunzipSync(readFileSync(join(run.dir, 'k6-raw.json.gz'))).toString().split('\n')) {
      if (!line.startsWith('{"metric":"http_req_duration"')) continue;
      const p = JSON.parse(line).data;
      const list = durations.get(p.tags.phase) ?? [];
      list.push(p.value);
      durations.set(p.tags.phase, list);
    }
    let phaseSamples = 0;
    for (const phase of ['baseline', 'fault', 'recovery']) {
      const k6 = byMetric.get(`http_req_duration{phase:${phase}}`)!;
      const ours = model.totals.phases[phase]!;
      const count = Object.values(ours.groups).reduce((a, g) => a + g.count, 0);
      expect(count).toBe(k6.samples);
      phaseSamples += count;
      // k6 interpolates between the two order statistics around rank 0.95·(n-1); the histogram reads the upper
      // one within its 2 % bin. So: ours lies within 2 % of that pair, and k6's value lies between them.
      const sorted = durations.get(phase)!.sort((a, b) => a - b);
      expect(sorted.length).toBe(k6.samples);
      const lo = sorted[Math.floor(0.95 * (sorted.length - 1))]!;
      const hi = sorted[Math.ceil(0.95 * (sorted.length - 1))]!;
      expect(k6.observed).toBeGreaterThanOrEqual(lo - 1e-9);
      expect(k6.observed).toBeLessThanOrEqual(hi + 1e-9);
      expect(ours.p95!).toBeGreaterThanOrEqual(lo * 0.98);
      expect(ours.p95!).toBeLessThanOrEqual(hi * 1.02);
      const failed = byMetric.get(`http_req_failed{phase:${phase}}`)!;
      expect(ours.errorRate! / 100).toBeCloseTo(failed.observed, 6);
    }
    expect(model.headline.reqs).toBe(phaseSamples);
    // Per-second request counts add up to the whole run.
    const perSecond = model.charts.find((c) => c.id === 'req-rate')!.series[0]!.data;
    expect(perSecond.reduce((a: number, b) => a + (b ?? 0), 0)).toBe(model.headline.reqs);
  });

  it('charts every required quantity, and the fault shows in the fault window', () => {
    const ids = model.charts.map((c) => c.id);
    expect(ids).toEqual(
      expect.arrayContaining(['req-rate', 'error-rate', 'latency-message_store', 'latency-message_list', 'trend-ws_delivery_latency', 'ws-fanout', 'vus']),
    );
    expect(ids).not.toContain('trend-ws_connecting');
    const p95 = model.charts.find((c) => c.id === 'latency-message_store')!.series.find((s) => s.label === 'p95')!.data;
    const inside = model.x.map((s, i) => [s, p95[i]] as const).filter(([s]) => s * 1000 >= run.injectMs && (s + 1) * 1000 <= run.healMs);
    const before = model.x.map((s, i) => [s, p95[i]] as const).filter(([s]) => (s + 1) * 1000 <= run.injectMs && s > model.x[0]!);
    expect(inside.length).toBeGreaterThan(0);
    expect(Math.min(...inside.map(([, v]) => v!))).toBeGreaterThan(130);
    expect(Math.max(...before.map(([, v]) => v!))).toBeLessThan(100);
    expect(model.faults).toEqual([
      expect.objectContaining({ label: 'pause dbman-1', inject: run.injectMs / 1000, heal: run.healMs / 1000, failoverS: 1.2, recoveryS: 0.8 }),
      expect.objectContaining({ label: 'kill dbman-2', inject: null, heal: null, error: 'not injected' }),
    ]);
    expect(model.readiness?.nodes.map((n) => n.node)).toEqual(['dbman-1', 'dbman-2']);
    expect(model.integrity).toMatchObject({ ok: 118, lost: 0, duplicates: 2, indeterminate: 1, undelivered: 0, reordered: 0 });
  });
});

describe('report.html', () => {
  it('is self-contained: no external URL in src/href/url(), a CSP that forbids fetching, uPlot inlined', () => {
    expect(externalRefs(html)).toEqual([]);
    // The check sees what it must: a script, a link, a style url() and an @import pointing outside.
    for (const bad of ['<script src="https://cdn.example/u.js">', "<link href='//cdn.example/u.css'>", 'a{background:url( "http://x/y.png")}', '@import "u.css";'])
      expect(externalRefs(html.replace('</head>', `${bad}</head>`)), bad).not.toEqual([]);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    // Every http(s) address left is the local target's, shown as text.
    for (const m of html.matchAll(/https?:\/\/[^\s"'<)&]+/g)) expect(m[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(html).toContain('var uPlot=');
    expect(html).not.toContain('github.com');
  });

  it('escapes text and holds no credentials', () => {
    expect(html).toContain('fixture &lt;server&gt;');
    expect(html).not.toContain('fixture <server>');
    expect(html).not.toContain('<b>1</b>');
    expect(html).not.toContain('secret-token-123');
    expect(esc('<a href="x">&\'')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    expect(redact({ login: { password: 'p', email: 'e' }, url: 'ws://h/ws?access_token=abc&x=1' })).toEqual({
      login: { password: '[redacted]', email: 'e' },
      url: 'ws://h/ws?access_token=[redacted]&x=1',
    });
  });

  it('has the header, the faults, thresholds per phase, integrity and folded raw details', () => {
    expect(html).toMatch(/<span class="verdict fail">fail<\/span>/);
    for (const s of ['v1.8.1', 'fixture0000000000000000000000000000000000', 'profile</dt><dd>fixture'])
      expect(html).toContain(s);
    expect(html).toMatch(/<tr><td>pause dbman-1<\/td><td>[^<]+<\/td><td>[^<]+<\/td><td class="num">2.5 s<\/td><td class="num">1.2 s<\/td><td class="num">0.8 s<\/td><td class="num">0.7 s<\/td><td class="num">25 \/ 112<\/td><td class="num">2 s<\/td><td class="num">0.05 s<\/td>/);
    expect(html).toContain('<tr><td>kill dbman-2</td><td>–</td>');
    expect(html).toContain('not injected');
    expect(html).toContain(new Date(run.injectMs).toISOString().replace('T', ' ').replace('Z', ' UTC'));
    expect(html).toMatch(/<tr class="fail"><td>fault<\/td><td>http_req_failed\{phase:fault\}<\/td><td>rate&lt;0.05<\/td>/);
    expect(html).toMatch(/<tr class="pass"><td>baseline<\/td><td>http_req_duration\{phase:baseline\}<\/td><td>p\(95\)&lt;300 ms<\/td>/);
    expect(html).toMatch(/<tr class="fail"><td>duplicates<\/td><td class="num">2<\/td><td class="num">121<\/td><td class="num">5.13 %<\/td><td class="num">0.1 %<\/td>/);
    expect(html).toMatch(/<tr class=""><td>lost<\/td><td class="num">0<\/td><td class="num">121<\/td><td class="num">2.45 %<\/td><td class="num">–<\/td>/);
    expect(html).toMatch(/<tr class="fail"><td>unverified<\/td><td class="num">1<\/td>/);
    expect(html).toContain('<li>unverified room room-&lt;7&gt;: expected 60, read 30 at 50 per page (60 by any read): short pages</li>');
    expect(html).toContain('late messages became visible up to 3100 ms (median 2900 ms)');
    expect(html).toContain('read after write: 12 of 80 just-stored messages missing');
    expect(html).toMatch(/<details><summary>drill.json<\/summary>/);
  });

  it('appends a markdown summary to $GITHUB_STEP_SUMMARY', () => {
    const md = readFileSync(stepSummary, 'utf8');
    expect(md.startsWith('# earlier content\n')).toBe(true);
    expect(md).toContain(`### Run ${model.runId}: FAIL`);
    expect(md).toContain('| pause dbman-1 | 2.5 s | 1.2 s | 0.8 s |');
    expect(md).toContain('`http_req_failed{phase:fault}` rate<0.05');
    expect(md).toBe(`# earlier content\n${markdownSummary(model)}`);
  });
});

describe('in headless Chromium', () => {
  let session: Session;
  // Chromium is installed here when missing (apt on a fresh machine: over a minute), so not in the test's time
  beforeAll(async () => {
    session = await openBrowser();
  }, 300_000);
  afterAll(async () => session?.close());

  it('renders without console errors or requests, draws the charts, and the fault band sits at inject..heal', async () => {
    const page = await session.context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${reportPath}`);
    await page.waitForSelector('body[data-charts-ready]');
    const shot = join(run.dir, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    copyFileSync(shot, join(tmpdir(), 'report-test-screenshot.png'));
    expect(problems).toEqual([]);
    expect(requests).toEqual([`file://${reportPath}`]);

    const charts = await page.evaluate(() => {
      const w = globalThis as unknown as { __report: { charts: { id: string; u: any }[] } };
      return w.__report.charts.map(({ id, u }) => {
        const { left, top, width, height } = u.bbox as { left: number; top: number; width: number; height: number };
        const img = u.ctx.getImageData(left, top, width, height).data as Uint8ClampedArray;
        const px = (x: number, y: number) => [0, 1, 2, 3].map((k) => img[(y * width + x) * 4 + k]!);
        const near = (p: number[], c: number[]) => c.every((v, i) => Math.abs(v - p[i]!) <= 8);
        // uPlot's canvas is transparent: the band fill rgba(255,0,0,0.12) alone is (255,0,0,31), its edge lines
        // rgba(200,0,0,0.6) are (200,0,0,153): pure red, half transparent. Series lines (opaque, or with green and
        // blue in them even where antialiased, like the red #d62728) and the dark red label text do not count.
        // Per row: the first and last band pixel.
        const starts: number[] = [];
        const ends: number[] = [];
        let seriesPixels = 0;
        for (let y = 0; y < height; y += 3) {
          let first = -1;
          let last = -1;
          for (let x = 0; x < width; x++) {
            const p = px(x, y);
            if (p[0]! >= 190 && p[1]! <= 10 && p[2]! <= 10 && p[3]! >= 20 && p[3]! <= 200) {
              if (first < 0) first = x;
              last = x;
            }
            if (near(p, [31, 119, 180]) && p[3]! > 200) seriesPixels++;
          }
          if (first >= 0) {
            starts.push(left + first);
            ends.push(left + last + 1);
          }
        }
        const median = (a: number[]) => (a.length ? [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]! : null);
        return { id, left, width, min: u.scales.x.min as number, max: u.scales.x.max as number, bandStart: median(starts), bandEnd: median(ends), seriesPixels };
      });
    });
    expect(charts.map((c) => c.id)).toEqual([...model.charts.map((c) => `${c.id}`), 'readiness']);
    const drill = JSON.parse(readFileSync(join(run.dir, 'drill.json'), 'utf8'));
    const inject = Date.parse(drill.faults[0].injectAt) / 1000;
    const heal = Date.parse(drill.faults[0].healAt) / 1000;
    const toX = (c: (typeof charts)[number], t: number) => c.left + ((t - c.min) / (c.max - c.min)) * c.width;
    for (const c of charts) {
      expect(c.bandStart, c.id).not.toBeNull();
      expect(Math.abs(c.bandStart! - toX(c, inject)), `${c.id} band start ${c.bandStart} vs ${toX(c, inject)}`).toBeLessThanOrEqual(1.5);
      expect(Math.abs(c.bandEnd! - toX(c, heal)), `${c.id} band end ${c.bandEnd} vs ${toX(c, heal)}`).toBeLessThanOrEqual(1.5);
      // The check can tell a band one second off from the right one.
      expect(Math.abs(c.bandStart! - toX(c, inject + 1)), `${c.id} resolution`).toBeGreaterThan(10);
      expect(c.seriesPixels, `${c.id} draws its first series`).toBeGreaterThan(20);
    }
  }, 180_000);
});
