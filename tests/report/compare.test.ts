/**
 * `npm run report -- compare`, the CLI and the runs index, on real k6 runs: a baseline, the same server made
 * slower on message_store (a synthetic p95 regression), and copies with a raised error rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFixtureRun } from './fixture.js';
import { readModel, writeRunReport, type ReportModel } from '../../report/index.js';
import { CompareOptions, compareModels } from '../../report/compare.js';

const repo = resolve(import.meta.dirname, '../..');
const tsx = join(repo, 'node_modules', '.bin', 'tsx');
let root: string;
let base: string;
let slow: string;

function report(...args: string[]) {
  const r = spawnSync(tsx, [join(repo, 'report', 'cli.ts'), ...args], { encoding: 'utf8', cwd: repo, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function copyRun(from: string, name: string, edit: (m: ReportModel) => void): string {
  const to = join(root, name);
  cpSync(from, to, { recursive: true });
  const m = readModel(to)!;
  m.runId = name;
  edit(m);
  writeFileSync(join(to, 'report-data.json'), JSON.stringify(m));
  return to;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'report-compare-'));
  base = (await makeFixtureRun(join(root, '20261123T100000Z-smoke-base'), { drill: false, durationS: 5, vus: 3 })).dir;
  slow = (await makeFixtureRun(join(root, '20261123T110000Z-smoke-slow'), { drill: false, durationS: 5, vus: 3, extraDelayMs: 60 })).dir;
  delete process.env['GITHUB_STEP_SUMMARY'];
  await writeRunReport(base);
  await writeRunReport(slow);
}, 90_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('compare', () => {
  it('passes a run against itself and a copy of it (exit 0)', () => {
    const same = report('compare', base, base);
    expect(same.code, same.err).toBe(0);
    expect(same.out).toContain('no regression');
    expect(same.out).toMatch(/p95 message_store \(ms\)\s+\d+\s+[\d.]+\s+[\d.]+\s+\+0\.0 ms \(\+0\.0 %\)\s+<= [\d.]+\s+ok/);
    const copy = join(root, 'copy');
    cpSync(base, copy, { recursive: true });
    rmSync(join(copy, 'report-data.json'));
    const again = report('compare', copy, base);
    expect(again.code, again.err).toBe(0);
  });

  // The fixture's latencies are a few ms, and on a shared 2-core machine their p95 wanders by several ms from
  // run to run; the slow run adds 60 ms on message_store. A 20 ms floor keeps the noise out of these checks.
  it('flags the slower run as a p95 regression of message_store only (exit 1), and not the other way round', () => {
    const r = report('compare', slow, base, '--p95-min-ms', '20');
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/p95 message_store \(ms\).*REGRESSION/);
    expect(r.out).toMatch(/p95 message_list \(ms\).*ok/);
    expect(r.out).toContain('REGRESSION: p95 message_store (ms)');
    const back = report('compare', base, slow, '--p95-min-ms', '20');
    expect(back.code, back.out).toBe(0);
    // A margin wide enough to cover 60 ms more turns the regression into a pass.
    const wide = report('compare', slow, base, '--p95-margin', '100000', '--p95-min-ms', '20');
    expect(wide.code, wide.out).toBe(0);
  });

  it('flags an error rate above the baseline by more than the margin (default +0.5 pp)', () => {
    const b = readModel(base)!;
    const worse = copyRun(base, 'worse-errors', (m) => (m.totals.all.errorRate = (b.totals.all.errorRate ?? 0) + 0.6));
    const within = copyRun(base, 'within-errors', (m) => (m.totals.all.errorRate = (b.totals.all.errorRate ?? 0) + 0.4));
    const r = report('compare', worse, base);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/http error rate \(%\).*\+0\.600 pp.*REGRESSION/);
    expect(report('compare', within, base).code).toBe(0);
    expect(report('compare', worse, base, '--error-margin', '1').code).toBe(0);
  });

  it('compares models with the margins given', () => {
    const b = readModel(base)!;
    b.totals.all.groups['message_list']!.p95 = 100;
    b.totals.all.groups['message_store']!.p95 = 20;
    const r = structuredClone(b);
    r.totals.all.groups['message_list']!.p95 = 120;
    r.totals.all.groups['message_store']!.p95 = 24.9;
    expect(CompareOptions.parse({})).toEqual({ p95MarginPct: 50, errorMarginPp: 0.5, errorMarginPct: 50, p95MinMs: 40, minSamples: 30 });
    const opts = CompareOptions.parse({ p95MarginPct: 10, p95MinMs: 5 });
    // 120 > 110: a regression; 24.9 is 24.5 % above 20 but within the 5 ms floor.
    expect(compareModels(r, b, opts).regressions.map((x) => x.what)).toEqual(['p95 message_list (ms)']);
    expect(compareModels(r, b, { ...opts, p95MinMs: 0 }).regressions.map((x) => x.what)).toEqual(['p95 message_list (ms)', 'p95 message_store (ms)']);
    expect(compareModels(r, b, { ...opts, p95MarginPct: 30 }).regressions).toEqual([]);
    expect(compareModels(b, b, opts).regressions).toEqual([]);
    // A group with too few requests in either run is listed, not judged.
    r.totals.all.groups['message_list']!.count = 29;
    const few = compareModels(r, b, opts);
    expect(few.regressions).toEqual([]);
    expect(few.rows.find((x) => x.what === 'p95 message_list (ms)')).toMatchObject({ status: 'too few samples', samples: 29 });
  });

  it('default rule: a healthy run-to-run wander of a fast p95 is noise, a target twice as slow is a regression', () => {
    const b = readModel(base)!;
    const opts = CompareOptions.parse({});
    const at = (m: ReportModel, g: string, p95: number, count = 200) => {
      m.totals.all.groups[g] = { ...(m.totals.all.groups[g] ?? { p50: null, p99: null, errorRate: 0 }), p95, count };
    };
    const healthyA = structuredClone(b);
    const healthyB = structuredClone(b);
    for (const m of [healthyA, healthyB]) m.totals.all.groups = {};
    // two pairs of healthy smokes in a row: the issue's, and one measured on this machine under load
    for (const [a, b2] of [[12.6, 29.5], [28.4, 63.9]] as const) {
      at(healthyA, 'message_store', a);
      at(healthyB, 'message_store', b2);
      expect(compareModels(healthyB, healthyA, opts).regressions).toEqual([]);
      expect(compareModels(healthyA, healthyB, opts).regressions).toEqual([]);
    }
    const slower = structuredClone(healthyA);
    at(slower, 'message_store', 128); // twice the slower healthy run
    expect(compareModels(slower, healthyB, opts).regressions.map((x) => x.what)).toEqual(['p95 message_store (ms)']);
    // both margins must be passed: 2x but only +20 ms (below the floor) is noise; +30 ms but only +10 % is noise too
    at(slower, 'message_store', 40);
    const fast = structuredClone(healthyA);
    at(fast, 'message_store', 20);
    expect(compareModels(slower, fast, opts).regressions).toEqual([]);
    at(slower, 'message_store', 330);
    at(fast, 'message_store', 300);
    expect(compareModels(slower, fast, opts).regressions).toEqual([]);
    // error rate: relative and absolute, and enough requests on both sides
    const e1 = structuredClone(healthyA);
    const e2 = structuredClone(healthyA);
    e1.totals.all.errorRate = 2;
    e2.totals.all.errorRate = 2.8; // +0.8 pp but only +40 %
    expect(compareModels(e2, e1, opts).regressions).toEqual([]);
    e2.totals.all.errorRate = 3.5; // +1.5 pp and +75 %
    expect(compareModels(e2, e1, opts).regressions.map((x) => x.what)).toEqual(['http error rate (%)']);
    e2.totals.all.reqs = 20;
    expect(compareModels(e2, e1, opts).rows.find((x) => x.what === 'http error rate (%)')).toMatchObject({ status: 'too few samples', samples: 20 });
  });

  it('exits 2 with one line on bad input', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const errs: string[] = [];
    for (const args of [
      ['compare', base],
      ['compare', base, join(root, 'nope')],
      ['compare', slow, base, '--p95-margin', 'ten'],
      ['compare', slow, base, '--error-margin', '-1'],
      ['compare', slow, base, '--min-samples', '2.5'],
      ['compare', empty, base],
      ['compare', slow, base, '--bogus'],
      [],
    ]) {
      const r = report(...args);
      expect(r.code, `${args.join(' ')}: ${r.out}${r.err}`).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^report: /);
      errs.push(r.err);
    }
    expect(errs[1]).toContain('run not found');
    expect(errs[2]).toContain('--p95-margin: must be a non-negative number');
    expect(errs[5]).toContain('no k6 raw output');
  });
});

describe('CLI and index', () => {
  it('renders a run again from its saved files', () => {
    rmSync(join(base, 'report.html'));
    const r = report(base);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(join(base, 'report.html'));
    expect(readFileSync(join(base, 'report.html'), 'utf8')).toContain('<title>Run 20261123T100000Z-smoke-base: pass</title>');
  });

  it('lists the runs newest first with verdict and headline figures, skipping the latest link', () => {
    symlinkSync('20261123T110000Z-smoke-slow', join(root, 'latest'));
    const r = report('index');
    expect(r.code, r.err).toBe(0);
    // The CLI writes the repository's reports/index.html; the library writes any reports folder's.
    expect(existsSync(join(repo, 'reports', 'index.html'))).toBe(true);
    return import('../../report/index.js').then(({ writeIndex }) => {
      const html = readFileSync(writeIndex(root), 'utf8');
      const slowAt = html.indexOf('>20261123T110000Z-smoke-slow<');
      const baseAt = html.indexOf('>20261123T100000Z-smoke-base<');
      expect(slowAt).toBeGreaterThan(0);
      expect(baseAt).toBeGreaterThan(slowAt);
      expect(html).not.toContain('>latest<');
      const b = readModel(base)!;
      const row = html.slice(baseAt, html.indexOf('</tr>', baseAt));
      expect(row).toContain('<span class="verdict pass">pass</span>');
      expect(row).toContain(`<td class="num">${b.headline.reqs}</td>`);
      expect(row).toContain(`${Number(b.headline.p95!.toFixed(1))} ms`);
      expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*https?:/i);
      unlinkSync(join(root, 'latest'));
    });
  });
});
