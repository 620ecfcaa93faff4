// The bad-request storm (chaos/drills/bad-request-storm.yaml) against real reference stacks and real k6, one
// drill each (~40 s each; both stacks start at once, before the first drill):
// - validation-500 (dbman answers its validation errors with 500; the client counts them as node failures and,
//   like the real one, fails at once while every endpoint is in cooldown): the storm sets every endpoint of a
//   service aside while all three nodes are ready and serving: the drill FAILS naming the service
//   (service_outage{service:X} and storm.<service>.error_rate), and the storm's 5xx answers are counted;
// - the healthy target under the same storm passes: every storm request refused (4xx / error frame), the valid
//   traffic's SLO held in the storm's window, per service.
// How a different implementation of the same flaw could slip past, and what covers it: validation only in some
// operations (the storm's kinds and variants reach chat's room/message lists and orghub's users/create through
// dbman); a service the load barely uses (orghub: the witnesses log in 2/s); an outage shorter than a whole second
// (storm.<service>.error_rate judges every failed valid request, not only whole failed seconds).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StormSection } from '../../runner/storm-section.js';
import { REPO, runDrillCli, stacksAtOnce, tempDir } from './helpers.js';
import { readFileSync } from 'node:fs';

const dir = tempDir('chaos-drill-storm-');
const ledgerPath = join(dir, 'ledger.jsonl');
// both stacks start at once, before the first drill; the flawed one is stopped after its drill
const stacks = stacksAtOnce(dir, [['validation-500'], []]);
afterAll(() => stacks.stopAll(), 60_000);

const STORM = ['--file', 'chaos/drills/bad-request-storm.yaml'];
const stormOf = (runId: string) => (JSON.parse(readFileSync(join(REPO, 'reports', runId, 'summary.json'), 'utf8')) as { storm?: StormSection }).storm;

describe('bad-request storm drill', () => {
  it('validation-500: the storm takes a service down while every node serves; the drill fails naming it', async () => {
    const s = (await stacks.ready)[0]!;
    const r = await runDrillCli(ledgerPath, ['--target', s.targetFilePath, ...STORM]);
    await stacks.stop(0);
    if (!r.report) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(1);
    const breached = r.report!.breached.join('\n');
    // named by service, with the inference that the nodes were fine
    expect(breached).toMatch(/service_outage\{service:(chat|orghub)\}: none \(observed: every request failed for \d+s .*inferred: (chat|orghub)'s dbman client had set every endpoint aside .*dbman-1, dbman-2, dbman-3 were ready and serving/);
    expect(breached).toMatch(/http_req_failed\{traffic:load,service:(chat|orghub)\}: rate<=0\.02 \(observed/);
    expect(r.stdout).toMatch(/^ {2}OUTAGE (chat|orghub): every request failed/m);
    const storm = stormOf(r.report!.runId)!;
    expect(storm.total.server_error).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^storm: \d+ sent: \d+ refused .*, [1-9]\d* answered 5xx/m);
  }, 240_000);

  it('the healthy target under the same storm: every bad request refused, the valid traffic keeps its SLO', async () => {
    const s = (await stacks.ready)[1]!;
    const r = await runDrillCli(ledgerPath, ['--target', s.targetFilePath, ...STORM]);
    if (r.code !== 0) console.error(r.stdout, r.stderr.slice(-3000));
    expect(r.code).toBe(0);
    const storm = stormOf(r.report!.runId)!;
    // 20 arrivals a second for 20 s, HTTP ones 3 copies each: hundreds sent, every one refused
    expect(storm.total.sent).toBeGreaterThan(300);
    expect(storm.total.refused).toBe(storm.total.sent);
    expect(Object.keys(storm.byKind).sort()).toEqual(['bad_cursor', 'malformed_json', 'not_member', 'users_invalid', 'ws_no_body']);
    expect(r.stdout).toMatch(/^ +pass +storm\.chat\.error_rate: /m);
    expect(r.stdout).toMatch(/^ +pass +storm\.orghub\.error_rate: /m);
    expect((r.report!.services as { outages: unknown[] }).outages).toEqual([]);
  }, 240_000);
});
