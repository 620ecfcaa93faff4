/**
 * Each new integrity check fails with its own name on a reference-target flaw that breaks it, through the real
 * `npm run smoke` (two runs, ~40 s each, flaws that do not mask each other share a run):
 * - short-pages (dbman caps pages at 30 without a cursor, as the real one does above 200) → `integrity.unverified`,
 *   never lost; list-lag (the list shows a message 3 s after storing it) → `integrity.late` with the lag measured,
 *   never lost, and `read_after_write_miss` (a limit set through SLO);
 * - sender-only-fanout (1 % of WS messages in small rooms reach their sender only) → `integrity.undelivered` at a
 *   ws-part room-mate; reorder-fanout → `integrity.reordered`; double-fanout → `integrity.duplicateDeliveries`;
 *   ignore-client-msg-id → `integrity.idempotency` (and duplicates) with examples.
 */
import { describe, expect, it } from 'vitest';
import { diag, failsByName, run } from './cli-run.js';

describe('read-back checks on flawed page semantics', () => {
  it('short-pages → unverified (not lost); list-lag → late with its lag (not lost), read_after_write_miss', async () => {
    const r = await run('smoke', [], {
      TARGET_FLAWS: 'short-pages,list-lag',
      INTEGRITY_LATE_LIMIT: '0',
      SLO: '{"whole":{"readAfterWriteMissMax":0}}',
    });
    expect(r.code, diag(r)).toBe(1);
    const i = r.integrity!;
    expect(i.lost, JSON.stringify(i.examples.lost)).toBe(0);
    expect(i.duplicates).toBe(0);
    // short pages: the REST and ws rooms hold more than 30 messages
    expect(i.unverified).toBeGreaterThanOrEqual(2);
    for (const room of i.rooms.filter((x) => x.status === 'unverified')) {
      expect(room.readDefault).toBeLessThanOrEqual(30);
      expect(room.readDefault).toBeLessThan(room.expected);
      expect(room.readAny).toBe(room.expected); // the small pages found every one
      expect(room.pageSize).toBe(50);
    }
    expect(i.details.unverifiedMessages).toBe(0);
    failsByName(r, 'integrity.unverified');
    expect(r.stdout).toMatch(/unverified room \S+: expected \d+, read \d+ at 50 per page/);
    // the lagging list: the newest messages are late, never lost, and the lag is about the flaw's 3 s
    expect(i.late).toBeGreaterThan(0);
    expect(i.ok + i.late).toBe(i.details.ackedJudged);
    expect(i.details.lateLagMs!.max).toBeGreaterThanOrEqual(2500);
    expect(i.details.lateLagMs!.max).toBeLessThan(3000 + 5000);
    expect(i.examples.late[0]).toMatchObject({ lagMs: expect.any(Number), visibleAt: expect.any(String), notVisibleAt: expect.any(String) });
    failsByName(r, 'integrity.late');
    expect(i.details.readAfterWrite.missed).toBeGreaterThan(0);
    failsByName(r, 'read_after_write_miss');
  }, 150_000);
});

describe('delivery, order and idempotency checks', () => {
  it('sender-only-fanout → undelivered at a room-mate; reorder-fanout → reordered; double-fanout → duplicate deliveries; ignore-client-msg-id → idempotency', async () => {
    const r = await run('smoke', [], { TARGET_FLAWS: 'sender-only-fanout,reorder-fanout,double-fanout,ignore-client-msg-id' });
    expect(r.code, diag(r)).toBe(1);
    const i = r.integrity!;
    expect(i.lost).toBe(0);
    // 1 % of WS messages in the small ws rooms: the 50th reached its sender only; its room-mates are judged now
    expect(i.undelivered).toBeGreaterThan(0);
    expect(i.examples.undelivered[0]).toMatchObject({ receiver: expect.stringMatching(/:w:\d+:\d+:\d+$/) });
    failsByName(r, 'integrity.undelivered');
    // a burst's next message overtakes the delayed one at every other socket
    expect(i.reordered).toBeGreaterThan(0);
    expect(i.examples.reordered[0]).toMatchObject({ receiver: expect.any(String), afterSeq: expect.any(Number) });
    failsByName(r, 'integrity.reordered');
    expect(i.duplicateDeliveries).toBeGreaterThan(0);
    failsByName(r, 'integrity.duplicateDeliveries');
    // every repeat was stored again: as many idempotency failures as repeats, each with two copies
    expect(i.idempotency).toBeGreaterThan(5);
    expect(i.idempotency).toBe(i.details.repeatsJudged);
    expect(i.details.repeatAnswers['accepted']).toBeGreaterThan(0);
    expect(i.details.repeatAnswers['refused'] ?? 0).toBe(0);
    for (const e of i.examples.idempotency) expect(e).toMatchObject({ copies: 2, ids: [expect.any(String), expect.any(String)] });
    failsByName(r, 'integrity.idempotency');
    expect(i.duplicates).toBeGreaterThanOrEqual(i.idempotency);
  }, 150_000);
});
