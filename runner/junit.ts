/**
 * JUnit XML of a run: one test case per threshold (a breached threshold and a threshold without samples are
 * failures, with observed value and limit in the message), plus one failing case per run error (e.g. k6 died).
 * Written by hand with strict escaping; the shape is the common Surefire/Jenkins one CI systems read.
 */
import type { RunSummary, ThresholdResult } from './summary.js';
import { formatValue } from './verdict.js';

// Characters XML 1.0 does not allow at all, even escaped.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

export function thresholdMessage(t: ThresholdResult): string {
  const limit = `${t.operator} ${formatValue(t.limit, t)}`;
  if (t.result === 'unverified') return `unverified: ${t.reason ?? 'the figure cannot be trusted'} (observed ${t.aggregation} = ${formatValue(t.observed, t)}, limit ${limit})`;
  if (t.result === 'no-samples') return `no samples: ${t.metric} got no data, so ${t.expression} measured nothing (limit ${limit})`;
  return `observed ${t.aggregation} = ${formatValue(t.observed, t)}, limit ${limit}`;
}

export function junitXml(summary: Pick<RunSummary, 'runId' | 'kind' | 'profile' | 'thresholds' | 'errors' | 'finishedAt' | 'durations'>): string {
  const cases: string[] = [];
  let failures = 0;
  for (const t of summary.thresholds) {
    const head = `    <testcase${attrs({ classname: `k6.${summary.kind}.${summary.profile}.${t.metric}`, name: t.expression, time: 0 })}`;
    if (t.result === 'pass') {
      cases.push(`${head}>\n      <system-out>${escapeXml(`${thresholdMessage(t)} (${t.samples} samples)`)}</system-out>\n    </testcase>`);
    } else {
      failures += 1;
      const msg = thresholdMessage(t);
      cases.push(`${head}>\n      <failure${attrs({ message: msg, type: t.result === 'fail' ? 'threshold-breached' : t.result })}>${escapeXml(`${t.name}\n${msg}\nsamples: ${t.samples}`)}</failure>\n    </testcase>`);
    }
  }
  for (const e of summary.errors) {
    failures += 1;
    cases.push(`    <testcase${attrs({ classname: `k6.${summary.kind}.${summary.profile}`, name: 'run', time: 0 })}>\n      <failure${attrs({ message: e, type: 'run-error' })}>${escapeXml(e)}</failure>\n    </testcase>`);
  }
  const tests = summary.thresholds.length + summary.errors.length;
  const time = ((summary.durations.loadMs ?? 0) / 1000).toFixed(3);
  const suite = attrs({ name: `${summary.kind} ${summary.profile} (${summary.runId})`, tests, failures, errors: 0, skipped: 0, time, timestamp: summary.finishedAt.replace(/\.\d+Z$/, '').replace(/Z$/, '') });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: `dbman-failover-suite ${summary.kind}`, tests, failures, errors: 0, time })}>`,
    `  <testsuite${suite}>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
