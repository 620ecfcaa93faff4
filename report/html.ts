/**
 * Renders the self-contained report.html and the runs index. All text goes through `esc`; the model is
 * embedded as JSON in a non-executed script element with `<` escaped; uPlot's JS and CSS are inlined; a
 * Content-Security-Policy forbids every fetch, so the page works offline and cannot call home.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrls } from '../lib/loopback.js';
import type { GroupStats, ReportModel } from './model.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** HTML-escaped text; a URL's credentials (`scheme://user:pw@`) never reach the page. */
export function esc(v: unknown): string {
  return redactUrls(String(v ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element: no `</script`, no `<!--`, no line separators. */
export function scriptJson(v: unknown): string {
  return redactUrls(JSON.stringify(v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|cookie|credential|jwt/i;
/** Deep copy without credentials: secret-looking keys are masked, tokens in URLs are cut. */
export function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(val);
    return out;
  }
  if (typeof v === 'string') {
    return redactUrls(v)
      .replace(/([?&](access_token|token|password)=)[^&\s"]*/gi, '$1[redacted]')
      .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]');
  }
  return v;
}

let assets: { js: string; css: string; client: string } | null = null;
function loadAssets() {
  if (assets) return assets;
  const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  // The banner comment names the project's home page; keep the licence notice, drop the address.
  const js = readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8').replace(
    /^\/\*![^*]*\*\//,
    '/*! uPlot (MIT licence, (c) Leon Sorokin) */',
  );
  const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const css = readFileSync(join(dist, 'uPlot.min.css'), 'utf8');
  const client = readFileSync(join(here, 'client.js'), 'utf8');
  for (const [name, text] of [['uPlot', js], ['client', client]] as const) {
    if (/<\/script/i.test(text)) throw new Error(`${name} contains </script and cannot be inlined`);
  }
  assets = { js: `/* uPlot ${version} */\n${js}`, css, client };
  return assets;
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:";

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1240px;padding:12px 20px;color:#222}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:.95em;margin:.8em 0 .2em}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:bold;text-transform:uppercase}
.verdict.pass{background:#2a7d2a}.verdict.fail{background:#b22222}.verdict.unknown{background:#777}
table{border-collapse:collapse;font-size:.9em;margin:.3em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fde0e0} tr.pass td.res{color:#2a7d2a} tr.fail td.res{color:#b22222;font-weight:bold}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.5em 0} dl.meta dt{color:#555}
dl.meta dd{margin:0} pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:.8em;max-height:500px}
.chart{margin-bottom:10px;min-width:0} .grid{display:grid;grid-template-columns:1fr 1fr;gap:0 16px} details{margin:.4em 0} .muted{color:#777}
`;

const fmt = (v: number | null | undefined, digits = 1, unit = '') =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${Number(v.toFixed(digits))}${unit}`;

function verdictBadge(v: string): string {
  const cls = v === 'pass' || v === 'fail' ? v : 'unknown';
  return `<span class="verdict ${cls}">${esc(v)}</span>`;
}

function iso(sec: number | null): string {
  return sec === null ? '–' : new Date(sec * 1000).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

function faultsTable(m: ReportModel): string {
  if (m.faults.length === 0) return '<p class="muted">No drill.json: no faults injected in this run.</p>';
  const rows = m.faults
    .map(
      (f) =>
        `<tr><td>${esc(f.label)}</td><td>${esc(iso(f.inject))}</td><td>${esc(iso(f.heal))}</td>` +
        `<td class="num">${f.inject !== null && f.heal !== null ? fmt(f.heal - f.inject, 1, ' s') : '–'}</td>` +
        `<td class="num">${fmt(f.failoverS, 1, ' s')}</td><td class="num">${fmt(f.recoveryS, 1, ' s')}</td>` +
        `<td class="num">${fmt(f.nodeReadyAfterHealS, 1, ' s')}</td>` +
        `<td class="num">${f.requestsDuringFault === null ? '–' : `${f.failedDuringFault ?? '–'} / ${f.requestsDuringFault}`}</td>` +
        `<td class="num">${fmt(f.longestErrorBurstS, 0, ' s')}</td><td class="num">${fmt(f.firstErrorOffsetS, 2, ' s')}</td>` +
        `<td>${esc(f.checks ?? '–')}</td><td>${esc(f.error ?? '')}</td></tr>`,
    )
    .join('');
  return (
    '<table id="faults"><tr><th>fault</th><th>injected</th><th>healed</th><th>lasted</th><th>failover</th><th>recovery</th>' +
    '<th>node ready after heal</th><th>failed / requests during fault</th><th>longest error burst</th><th>first error after inject</th>' +
    '<th>fault checks: readiness, serving, relapses, per service, WS reconnects</th><th>error</th></tr>' +
    `${rows}</table>`
  );
}

function setupTable(m: ReportModel): string {
  const s = m.setup;
  if (!s) return '<p class="muted">No setup section in summary.json.</p>';
  const head = `<p>${s.ready ? 'ready' : '<strong>not ready: the load was not started</strong>'}${s.reason ? ` (${esc(s.reason)})` : ''}; ${s.rooms} rooms; ${esc(s.usersNote ?? `${s.users} users`)}. Setup requests are tagged <code>phase:setup</code> and do not count in the load's thresholds.</p>`;
  if (s.failures.length === 0) return `${head}<p class="muted">No setup call failed.</p>`;
  const rows = s.failures
    .map((f) => `<tr><td>${esc(f.fixture)}</td><td>${esc(f.call)}</td><td class="num">${f.status === 0 ? 'no response' : f.status}</td><td>${esc(f.error)}</td><td class="num">${f.count}</td><td>${f.required ? 'required: the load was not started' : esc(f.instead ?? 'the run goes on without it')}</td></tr>`)
    .join('');
  return `${head}<table id="setup-failures"><tr><th>fixture</th><th>call</th><th>status</th><th>error</th><th>count</th><th>what the run did</th></tr>${rows}</table>`;
}

function servicesTable(m: ReportModel): string {
  const s = m.services;
  if (!s) return '<p class="muted">No per-service figures (not a drill).</p>';
  const phases = [...new Set(Object.values(s.byPhase).flatMap((p) => Object.keys(p)))].filter((p) => p !== 'all');
  const cell = (x: { requests: number; failed: number; p95Ms?: number | null | undefined } | undefined) =>
    x ? `${x.failed} / ${x.requests} failed, p95 ${fmt(x.p95Ms ?? null, 0, ' ms')}` : '–';
  const rows = Object.entries(s.byPhase)
    .map(([svc, p]) => `<tr><td>${esc(svc)}</td>${phases.map((ph) => `<td>${esc(cell(p[ph]))}</td>`).join('')}</tr>`)
    .join('');
  const outages = s.outages.length
    ? `<ul id="service-outages">${s.outages.map((o) => `<li><strong>${esc(o.service)}</strong>: every request failed for ${o.seconds} s from ${esc(o.start)} (${o.failed} failed). ${esc(o.inference)}</li>`).join('')}</ul>`
    : '<p class="muted">No service had every request fail for a second or more.</p>';
  return `<table id="services"><tr><th>service</th>${phases.map((p) => `<th>${esc(p)}</th>`).join('')}</tr>${rows}</table>${outages}`;
}

function thresholdsTable(m: ReportModel): string {
  if (m.thresholds.length === 0) return '<p class="muted">No thresholds in summary.json.</p>';
  const phaseOf = (t: ReportModel['thresholds'][number]) =>
    t.tags?.['phase'] ?? /[{,]phase:([^,}]+)/.exec(t.metric)?.[1] ?? 'all';
  const sorted = [...m.thresholds].sort((a, b) => phaseOf(a).localeCompare(phaseOf(b)) || a.metric.localeCompare(b.metric));
  const rows = sorted
    .map((t) => {
      const unit = t.unit ?? '';
      const limit = `${t.expression}${unit && !t.expression.endsWith(unit) ? ` ${unit}` : ''}`;
      return (
        `<tr class="${t.result === 'fail' ? 'fail' : t.result === 'pass' ? 'pass' : ''}"><td>${esc(phaseOf(t))}</td>` +
        `<td>${esc(t.metric)}</td><td>${esc(limit)}</td><td class="num">${esc(fmt(t.observed, 3, unit ? ` ${unit}` : ''))}</td>` +
        `<td class="num">${esc(t.samples ?? '–')}</td><td class="res">${esc(t.result)}</td></tr>`
      );
    })
    .join('');
  return `<table id="thresholds"><tr><th>phase</th><th>metric</th><th>limit</th><th>observed</th><th>samples</th><th>result</th></tr>${rows}</table>`;
}

function integrityTable(m: ReportModel): string {
  if (!m.integrity) return '<p class="muted">No integrity.json for this run.</p>';
  const bad = new Set(['lost', 'duplicates', 'undelivered', 'unverified', 'reordered', 'duplicateDeliveries', 'idempotency']);
  const b = m.integrityBounds ?? {};
  const rate = (x: number) => `${+(x * 100).toPrecision(3)} %`;
  const rows = Object.entries(m.integrity)
    .map(([k, v]) => {
      const bd = b[k];
      const evidence = bd ? `${bd.judged}</td><td class="num">${esc(rate(bd.upper95))}</td><td class="num">${bd.target !== undefined ? esc(rate(bd.target)) : '–'}` : '</td><td></td><td>';
      const insufficient = bd && bd.target !== undefined && bd.upper95 > bd.target;
      return `<tr class="${(bad.has(k) && (v ?? 0) > 0) || insufficient ? 'fail' : ''}"><td>${esc(k)}</td><td class="num">${esc(v ?? '–')}</td><td class="num">${evidence}</td></tr>`;
    })
    .join('');
  const notes = m.integrityNotes.map((n) => `<li>${esc(n)}</li>`).join('');
  return `${m.integrityVerdict ? `<p>integrity verdict: ${verdictBadge(m.integrityVerdict)}</p>` : ''}<table id="integrity"><tr><th>class</th><th>count</th><th>judged</th><th>95 % upper bound</th><th>target</th></tr>${rows}</table>${notes ? `<ul id="integrity-notes">${notes}</ul>` : ''}`;
}

function groupRows(groups: Record<string, GroupStats>): string {
  return Object.entries(groups)
    .map(
      ([g, s]) =>
        `<tr><td>${esc(g)}</td><td class="num">${s.count}</td><td class="num">${fmt(s.p50, 1)}</td><td class="num">${fmt(s.p95, 1)}</td>` +
        `<td class="num">${fmt(s.p99, 1)}</td><td class="num">${fmt(s.errorRate, 3, ' %')}</td></tr>`,
    )
    .join('');
}

function statsTables(m: ReportModel): string {
  const head = '<tr><th>endpoint group</th><th>requests</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th></tr>';
  let out = `<h3>whole run</h3><table class="stats">${head}${groupRows(m.totals.all.groups)}</table>`;
  for (const [p, s] of Object.entries(m.totals.phases)) {
    out += `<h3>phase ${esc(p)}</h3><table class="stats">${head}${groupRows(s.groups)}</table>`;
  }
  return out;
}

/** The whole report page. `details` are shown as folded raw JSON (redacted). */
export function renderReport(m: ReportModel, details: Record<string, unknown>): string {
  const a = loadAssets();
  const h = m.header;
  const hl = m.headline;
  const detailBlocks = Object.entries(details)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([name, v]) => `<details><summary>${esc(name)}</summary><pre>${esc(JSON.stringify(redact(v), null, 2))}</pre></details>`)
    .join('\n');
  const readinessNote = m.readiness ? '' : '<p class="muted">No node readiness timelines in this run.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Run ${m.runId}: ${h.verdict}`)}</title>
<style>${a.css}</style><style>${STYLE}</style>
</head><body>
<header>
<h1>Run ${esc(m.runId)} ${verdictBadge(h.verdict)}</h1>
<dl class="meta">
<dt>target</dt><dd>${esc(h.target)}</dd>
<dt>kind</dt><dd>${esc(h.kind ?? '–')}</dd>
<dt>profile</dt><dd>${esc(h.profile)}</dd>
<dt>k6 version</dt><dd>${esc(h.k6Version)}</dd>
<dt>git revision</dt><dd>${esc(h.gitRevision)}</dd>
<dt>date</dt><dd>${esc(h.date)}</dd>
<dt>requests</dt><dd>${hl.reqs} in ${hl.durationS} s; errors ${esc(fmt(hl.errorRate, 3, ' %'))}; p95 ${esc(fmt(hl.p95, 1, ' ms'))}; p99 ${esc(fmt(hl.p99, 1, ' ms'))}</dd>
${m.raw.truncated ? `<dt>warning</dt><dd>the raw output ${esc(m.raw.file)} ends early (cut short); charts show what was read</dd>` : ''}
${h.errors.length ? `<dt>errors</dt><dd>${h.errors.map(esc).join('<br>')}</dd>` : ''}
</dl>
</header>
<h2>Setup</h2>
${setupTable(m)}
<h2>Faults</h2>
${faultsTable(m)}
<h2>Per service</h2>
${servicesTable(m)}
<h2>Over time</h2>
<p class="muted">Per-second buckets from k6's raw output; shaded bands are fault windows (inject to heal). Times in UTC.</p>
<div id="charts"></div>
${readinessNote}
<h2>Thresholds</h2>
${thresholdsTable(m)}
<h2>Message integrity</h2>
${integrityTable(m)}
<h2>Latency and errors per endpoint group</h2>
${statsTables(m)}
<h2>Raw details</h2>
<details><summary>raw output: ${esc(m.raw.file)} (${m.raw.lines} lines, ${m.raw.badLines} unreadable${m.raw.truncated ? ', cut short' : ''})</summary><pre>${esc(JSON.stringify(m.raw.metrics, null, 2))}</pre></details>
${detailBlocks}
<p class="muted">Generated ${esc(m.generatedAt)}.</p>
<script type="application/json" id="report-data">${scriptJson(m)}</script>
<script>${a.js}</script>
<script>${a.client}</script>
</body></html>
`;
}

export interface IndexRow {
  runId: string;
  href: string;
  date: string;
  verdict: string;
  kind: string | null;
  profile: string;
  headline: ReportModel['headline'] | null;
}

/** The runs index, newest first. */
export function renderIndex(rows: IndexRow[]): string {
  const body = rows
    .map((r) => {
      const hl = r.headline;
      return (
        `<tr class="${r.verdict === 'fail' ? 'fail' : ''}"><td><a href="${esc(r.href)}">${esc(r.runId)}</a></td><td>${esc(r.date)}</td>` +
        `<td>${verdictBadge(r.verdict)}</td><td>${esc(r.kind ?? '–')}</td><td>${esc(r.profile)}</td>` +
        `<td class="num">${hl ? hl.reqs : '–'}</td><td class="num">${esc(fmt(hl?.errorRate, 3, ' %'))}</td>` +
        `<td class="num">${esc(fmt(hl?.p95, 1, ' ms'))}</td><td class="num">${esc(fmt(hl?.p99, 1, ' ms'))}</td>` +
        `<td class="num">${hl ? hl.faults : '–'}</td><td class="num">${esc(fmt(hl?.maxFailoverS, 1, ' s'))}</td>` +
        `<td class="num">${esc(fmt(hl?.maxRecoveryS, 1, ' s'))}</td>` +
        `<td class="num">${esc(hl?.lost ?? '–')} / ${esc(hl?.duplicates ?? '–')}</td></tr>`
      );
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc("default-src 'none'; style-src 'unsafe-inline'")}">
<title>Runs</title><style>${STYLE}</style></head><body>
<h1>Runs</h1>
<p class="muted">Newest first. Headline figures over the whole run; failover and recovery: the longest of the run's faults.</p>
<table id="runs"><tr><th>run</th><th>date</th><th>verdict</th><th>kind</th><th>profile</th><th>requests</th><th>errors</th><th>p95</th><th>p99</th><th>faults</th><th>failover</th><th>recovery</th><th>lost / dup</th></tr>
${body}
</table>
</body></html>
`;
}
