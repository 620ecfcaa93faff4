/**
 * The integrity check end to end, through the real CLIs against the real reference target and real k6, one run at
 * a time (~25-35 s each): the healthy target shows 0 lost and 0 duplicates across a drill with a kill and a pause;
 * retry-duplicates yields duplicates with examples and a failing verdict from both `npm run smoke` and a drill;
 * lose-messages is reported as lost with the exact count; drop-fanout (a subscriber's fan-out dropped) shows
 * undelivered messages.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../chaos/helpers.js';
import { byId, diag, run, type Ran } from './cli-run.js';

const DRILL = ['--at', '6s', '--for', '6s', '--duration', '18s'];

function healthy(r: Ran): void {
  expect(r.integrity, diag(r)).toBeDefined();
  const i = r.integrity!;
  expect(i.lost, JSON.stringify(i.examples.lost)).toBe(0);
  expect(i.duplicates, JSON.stringify(i.examples.duplicates)).toBe(0);
  expect(i.ok).toBeGreaterThan(300);
  expect(i.details.deliveriesJudged).toBeGreaterThan(0);
  // 0 of everything, every check judged something
  for (const k of ['undelivered', 'reordered', 'late', 'unverified', 'duplicateDeliveries', 'idempotency'] as const) expect(i.counts[k], `${k}: ${JSON.stringify(i.examples[k])}`).toBe(0);
  expect(i.details.repeatsJudged).toBeGreaterThan(0);
  for (const t of r.summary!.thresholds.filter((x) => x.id?.startsWith('integrity.'))) expect(t.result, t.id).toBe('pass');
  expect(r.summary!.thresholds.map((t) => t.id)).toEqual(expect.arrayContaining(['integrity.lost', 'integrity.duplicates', 'integrity.undelivered', 'integrity.unverified', 'integrity.reordered', 'integrity.duplicateDeliveries', 'integrity.idempotency']));
  expect(r.summary!.files['integrity']).toBe('integrity.json');
  expect(r.stdout).toMatch(/^integrity: PASS/m);
}

function duplicated(r: Ran): void {
  expect(r.code, diag(r)).toBe(1);
  const i = r.integrity!;
  expect(i.duplicates).toBeGreaterThan(0);
  expect(i.lost).toBe(0);
  expect(i.examples.duplicates.length).toBe(Math.min(20, i.duplicates));
  for (const e of i.examples.duplicates) expect(Number(e['copies'])).toBeGreaterThanOrEqual(2);
  expect(i.verdict).toBe('fail');
  expect(r.summary!.verdict).toBe('fail');
  expect(byId(r, 'integrity.duplicates')).toMatchObject({ result: 'fail', observed: i.duplicates });
  expect(r.junit).toMatch(/<testcase classname="k6\.[a-z]+\.[a-z]+\.integrity_duplicates" name="count==0" time="0">\s*<failure message="observed count = \d+, limit == 0" type="threshold-breached"/);
  expect(r.stdout).toMatch(/FAIL\s+integrity\.duplicates: integrity_duplicates count/);
  expect(r.stdout).toMatch(/^integrity: FAIL/m);
}

describe('integrity after drills on the reference target without flaws', () => {
  // One drill file, two faults: a kill of dbman-1, then a pause of dbman-2.
  // A paused node keeps the writes in flight; the client times out and stores them again on the next node, and the
  // node commits its copy when resumed. The healthy target's writes are idempotent (chat picks the message id), so
  // that retry stores once; without it this drill showed 10-14 duplicates per run (retry-duplicates shows them).
  it('kill dbman-1, then pause dbman-2: 0 lost, 0 duplicates although writes are retried off the frozen node, every delivery made', async () => {
    const file = join(tempDir('integrity-drill-file-'), 'kill-pause.yaml');
    // The stack's own client (threshold 3, cooldown 3 s) takes ~3 s to set the frozen node aside and lets the
    // stall come back every ~5 s: relapses the drill rightly fails on (tests/chaos/drill.test.ts), not what this
    // test judges. A client that sets it aside at its first timeout still retries the writes in flight off it.
    // A good second's p95 900 ms as in drill.test (below a stall's 1 s client timeout).
    writeFileSync(file, ['duration: 28s', 'slo: {p95Ms: 900}', 'faults:', '  - {fault: kill, node: dbman-1, at: 5s, for: 6s}', '  - {fault: pause, node: dbman-2, at: 15s, for: 8s}', ''].join('\n'));
    const r = await run('drill', ['--file', file], { DBMAN_FAIL_THRESHOLD: '1', DBMAN_COOLDOWN_MS: '15000' });
    expect(r.code, diag(r)).toBe(0);
    healthy(r);
    expect(r.stdout).toMatch(/^ {2}kill dbman-1 \(process\) inject /m);
    expect(r.stdout).toMatch(/^ {2}pause dbman-2 \(process\) inject /m);
  }, 150_000);
});

describe('integrity catches the flaws', () => {
  it('retry-duplicates in a drill: duplicates with examples, failing verdict', async () => {
    const r = await run('drill', ['--fault', 'kill', '--node', 'dbman-1', ...DRILL], { TARGET_FLAWS: 'retry-duplicates', TARGET_FLAW_DUPLICATE_SHARE: '0.1' });
    duplicated(r);
  }, 150_000);

  it('retry-duplicates in the smoke: duplicates with examples, failing verdict', async () => {
    const r = await run('smoke', [], { TARGET_FLAWS: 'retry-duplicates', TARGET_FLAW_DUPLICATE_SHARE: '0.1' });
    duplicated(r);
  }, 150_000);

  it('lose-messages: lost is exactly every 7th write; drop-fanout: undelivered with examples', async () => {
    const r = await run('smoke', [], { TARGET_FLAWS: 'lose-messages,drop-fanout', TARGET_FLAW_LOSE_EVERY: '7', TARGET_FLAW_DROP_FANOUT_EVERY: '4' });
    expect(r.code, diag(r)).toBe(1);
    const i = r.integrity!;
    // every write reached chat-1 and was acknowledged (none failed), so the writes are the messages judged
    expect(i.indeterminate + i.details.failedNotStored + i.duplicates).toBe(0);
    expect(i.details.messages).toBeGreaterThan(200);
    // chat loses every 7th write of the instance, but the msa part's messages (no marker, not judged) share that
    // counter, so which judged writes are lost depends on the interleaving: about 1 in 7 of them, never exactly
    // floor(messages / 7). Bound it by the binomial spread (3 sd) instead, which still refuses "none" and "all".
    const expected = i.details.messages / 7;
    const spread = 3 * Math.sqrt(i.details.messages * (1 / 7) * (6 / 7));
    expect(i.lost).toBeGreaterThanOrEqual(Math.floor(expected - spread));
    expect(i.lost).toBeLessThanOrEqual(Math.ceil(expected + spread));
    expect(i.ok).toBe(i.details.messages - i.lost);
    expect(i.examples.lost).toHaveLength(20);
    expect(i.undelivered).toBeGreaterThan(0);
    // every socket of a room is judged now: hot-room subscribers, the hot-room publisher's own socket and the
    // ws part's room-mates alike (which of them comes first among the examples is not fixed)
    expect(i.examples.undelivered[0]).toMatchObject({ receiver: expect.stringMatching(/:[wh]:\d+:\d+:\d+(:sub\d+|:pub)?$/) });
    expect(byId(r, 'integrity.lost')).toMatchObject({ result: 'fail', observed: i.lost });
    expect(byId(r, 'integrity.undelivered')).toMatchObject({ result: 'fail', observed: i.undelivered });
    expect(r.stdout).toMatch(new RegExp(`^  lost\\s+${i.lost}  \\(limit 0\\)  \\(of ${i.details.ackedJudged}; 95 % bound [\\d.]+ %\\)$`, 'm'));
  }, 150_000);

  it('a bad INTEGRITY_UNDELIVERED_LIMIT exits 2 naming it, before anything starts', async () => {
    const r = await run('smoke', [], { INTEGRITY_UNDELIVERED_LIMIT: 'many' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/INTEGRITY_UNDELIVERED_LIMIT: "many"/);
    expect(r.stderr).not.toMatch(/\[load\]/);
  }, 60_000);
});
