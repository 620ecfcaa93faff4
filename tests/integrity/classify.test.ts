/**
 * The integrity classification on histories built by hand (pure: no target, no k6), each rule shown to fire
 * and to stay quiet; the thresholds it yields; the history reader on a real gzip file with several inputs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { addRecord, buildReport, classify, emptyHistory, integrityOptionsFromEnv, readHistory, type History, type StoredMessage } from '../../integrity/index.js';

const RUN = 'r1';
const T0 = 1_800_000_000_000;
const mk = (src: 'r' | 'w' | 'h', vu: number, seq: number) => `k6m:${RUN}:0:${src}:${vu}:0:0:${seq}`;
const body = (marker: string, sendMs = T0) => `${marker} t=${sendMs} load test message`;
const ROOM = 'room-1';
const HOT = 'hot-1';

function send(h: History, marker: string, outcome: 'acked' | 'failed' | 'unknown', room = ROOM, atMs = T0 + 10, detail = outcome === 'acked' ? '201' : '503'): void {
  addRecord(h, 'message_store_success', atMs, { marker, room, sender: 'u1', outcome, detail });
}
function stored(marker: string, room = ROOM, id = `id-${marker}-${Math.random()}`, sendMs = T0): StoredMessage {
  return { id, room, body: body(marker, sendMs) };
}
function socket(h: History, key: string, room: string, openedMs: number, closedMs: number, gaps = ''): void {
  addRecord(h, 'ws_session_ok', closedMs, { socket: key, room, opened_ms: String(openedMs), closed_ms: String(closedMs), gaps });
}
function receipt(h: History, receiver: string, marker: string, atMs: number): void {
  addRecord(h, 'ws_fanout_latency', atMs, { marker, receiver });
}

describe('classify: per message', () => {
  it('acknowledged and stored once is ok; acknowledged and missing is lost, with an example', () => {
    const h = emptyHistory();
    send(h, mk('r', 1, 0), 'acked');
    send(h, mk('r', 1, 1), 'acked');
    const c = classify(h, [stored(mk('r', 1, 0))]);
    expect(c.ok).toBe(1);
    expect(c.lost).toBe(1);
    expect(c.examples.lost).toEqual([expect.objectContaining({ marker: mk('r', 1, 1), room: ROOM, outcome: 'acked' })]);
    expect(c.duplicates + c.indeterminate + c.undelivered + c.reordered).toBe(0);
  });

  it('stored twice is a duplicate whatever the outcome, with both ids', () => {
    const h = emptyHistory();
    send(h, mk('r', 1, 0), 'acked');
    send(h, mk('r', 1, 1), 'failed');
    const c = classify(h, [stored(mk('r', 1, 0), ROOM, 'a'), stored(mk('r', 1, 0), ROOM, 'b'), stored(mk('r', 1, 1), ROOM, 'c'), stored(mk('r', 1, 1), ROOM, 'd'), stored(mk('r', 1, 1), ROOM, 'e')]);
    expect(c.duplicates).toBe(2);
    expect(c.extraCopies).toBe(3);
    expect(c.ok + c.lost + c.indeterminate).toBe(0);
    expect(c.examples.duplicates[0]).toMatchObject({ marker: mk('r', 1, 0), copies: 2, ids: ['a', 'b'] });
  });

  it('failed or unknown yet stored is indeterminate; failed and not stored is consistent', () => {
    const h = emptyHistory();
    send(h, mk('w', 2, 0), 'unknown', ROOM, T0 + 5000, 'timeout');
    send(h, mk('w', 2, 1), 'failed');
    send(h, mk('w', 2, 2), 'failed');
    const c = classify(h, [stored(mk('w', 2, 0)), stored(mk('w', 2, 1))]);
    expect(c.indeterminate).toBe(2);
    expect(c.failedNotStored).toBe(1);
    expect(c.lost + c.ok + c.duplicates).toBe(0);
    expect(c.examples.indeterminate.map((e) => e.outcome)).toEqual(['unknown', 'failed']);
  });

  it('a retry acknowledged (duplicate client_msg_id) after a failed attempt counts as acknowledged', () => {
    const h = emptyHistory();
    send(h, mk('h', 3, 0), 'failed', HOT, T0 + 10, 'persist');
    addRecord(h, 'ws_ack_via_duplicate', T0 + 20, { marker: mk('h', 3, 0), room: HOT, sender: 'u1', outcome: 'acked', detail: 'duplicate' });
    expect(classify(h, []).lost).toBe(1);
    expect(classify(h, [stored(mk('h', 3, 0), HOT)]).ok).toBe(1);
  });

  it('a marked message stored without a recorded send is indeterminate; unmarked bodies are ignored', () => {
    const h = emptyHistory();
    const c = classify(h, [stored(mk('r', 9, 0)), { id: 'x', room: ROOM, body: 'hello' }]);
    expect(c.indeterminate).toBe(1);
    expect(c.messages).toBe(1);
  });
});

describe('classify: delivery and order', () => {
  const sub = (j: number) => `${RUN}:0:h:3:0:0:sub${j}`;

  it('a stored message a subscriber open over its whole span never got is undelivered (per subscriber)', () => {
    const h = emptyHistory();
    const m0 = mk('h', 3, 0);
    const m1 = mk('h', 3, 1);
    send(h, m0, 'acked', HOT, T0 + 10);
    send(h, m1, 'acked', HOT, T0 + 1010);
    socket(h, sub(0), HOT, T0 - 1000, T0 + 10_000);
    socket(h, sub(1), HOT, T0 - 1000, T0 + 10_000);
    socket(h, `${RUN}:0:h:3:0:0:pub`, HOT, T0 - 1000, T0 + 10_000); // the publisher's receipts are not recorded
    receipt(h, sub(0), m0, T0 + 20);
    receipt(h, sub(0), m1, T0 + 1020);
    receipt(h, sub(1), m0, T0 + 20);
    const c = classify(h, [stored(m0, HOT, 'a', T0), stored(m1, HOT, 'b', T0 + 1000)]);
    expect(c.deliveriesJudged).toBe(4);
    expect(c.undelivered).toBe(1);
    expect(c.examples.undelivered[0]).toMatchObject({ marker: m1, receiver: sub(1) });
  });

  it('subscribers not open over the span, and messages not stored, are not judged', () => {
    const h = emptyHistory();
    const m0 = mk('h', 3, 0);
    const lost = mk('h', 3, 1);
    send(h, m0, 'acked', HOT, T0 + 10);
    send(h, lost, 'acked', HOT, T0 + 20);
    socket(h, sub(0), HOT, T0 + 5, T0 + 10_000); // opened after the send
    socket(h, sub(1), HOT, T0 - 1000, T0 + 500); // closed before the outcome + span
    socket(h, sub(2), HOT, 0, T0 + 10_000); // never opened
    const c = classify(h, [stored(m0, HOT)]);
    expect(c.deliveriesJudged).toBe(0);
    expect(c.undelivered).toBe(0);
    expect(c.lost).toBe(1);
    // the span is a setting: a short one judges sub1
    expect(classify(h, [stored(m0, HOT)], { spanMs: 100 }).undelivered).toBe(1);
  });

  it('a reconnected subscriber is judged only over its connected spans: a message sent in a gap is missed while reconnecting', () => {
    const h = emptyHistory();
    const m = (seq: number) => mk('h', 3, seq);
    const sendAt = [T0, T0 + 3000, T0 + 6000, T0 + 9000];
    sendAt.forEach((t, seq) => send(h, m(seq), 'acked', HOT, t + 10));
    // sub0 was disconnected from T0+2500 to T0+4000 and again from T0+8500 to the end (T0+20000)
    socket(h, sub(0), HOT, T0 - 1000, T0 + 20_000, `${T0 + 2500}-${T0 + 4000} ${T0 + 8500}-${T0 + 20_000}`);
    socket(h, sub(1), HOT, T0 - 1000, T0 + 20_000);
    receipt(h, sub(0), m(0), T0 + 20);
    receipt(h, sub(0), m(2), T0 + 6020); // m1 and m3 were sent while it was disconnected
    for (const seq of [0, 1, 3]) receipt(h, sub(1), m(seq), sendAt[seq]! + 20); // m2 undelivered to sub1
    const c = classify(h, sendAt.map((t, seq) => stored(m(seq), HOT, `id${seq}`, t)));
    expect(c.missedWhileReconnecting).toBe(2);
    expect(c.undelivered).toBe(1);
    expect(c.examples.undelivered).toEqual([expect.objectContaining({ marker: m(2), receiver: sub(1) })]);
    expect(c.deliveriesJudged).toBe(4 + 2); // sub1 all four, sub0 the two sent while it was connected
    // a message sent in a gap that arrived anyway is neither missed nor judged
    receipt(h, sub(0), m(1), T0 + 4100);
    expect(classify(h, sendAt.map((t, seq) => stored(m(seq), HOT, `id${seq}`, t))).missedWhileReconnecting).toBe(1);
  });

  it('order inversions per sender stream as each subscriber saw them; duplicates of a receipt are not inversions', () => {
    const h = emptyHistory();
    const a = (seq: number) => mk('h', 3, seq);
    const b = (seq: number) => mk('h', 4, seq);
    receipt(h, sub(0), a(0), T0 + 1);
    receipt(h, sub(0), b(1), T0 + 2);
    receipt(h, sub(0), a(2), T0 + 3);
    receipt(h, sub(0), b(0), T0 + 4); // late: b1 came first
    receipt(h, sub(0), a(1), T0 + 5); // late: a2 came first
    receipt(h, sub(0), a(2), T0 + 6); // repeated, not an inversion
    receipt(h, sub(1), a(0), T0 + 1);
    receipt(h, sub(1), a(1), T0 + 2);
    const c = classify(h, []);
    expect(c.reordered).toBe(2);
    expect(c.examples.reordered.map((e) => [e.marker, e.after])).toEqual([[b(0), b(1)], [a(1), a(2)]]);
  });

  it('examples are capped at 20 per class', () => {
    const h = emptyHistory();
    for (let i = 0; i < 30; i++) send(h, mk('r', 1, i), 'acked');
    const c = classify(h, []);
    expect(c.lost).toBe(30);
    expect(c.examples.lost).toHaveLength(20);
  });
});

describe('thresholds, report, options', () => {
  it('lost == 0, duplicates == 0, undelivered <= limit; nothing judged is no-samples', () => {
    const h = emptyHistory();
    send(h, mk('r', 1, 0), 'acked');
    const base = { spanMs: 1000, rooms: 1, storedMarked: 0, historyRecords: 1, droppedReceipts: 0, rawFiles: 1 };
    const r = buildReport(classify(h, []), { ...base, undeliveredLimit: 0 });
    expect(r.verdict).toBe('fail');
    expect(r.lost).toBe(1);
    expect(r.counts.lost).toBe(1);
    const byId = Object.fromEntries(r.thresholds.map((t) => [t.id, t]));
    expect(byId['integrity.lost']).toMatchObject({ result: 'fail', observed: 1, operator: '==', limit: 0, samples: 1 });
    expect(byId['integrity.duplicates']).toMatchObject({ result: 'pass', observed: 0 });
    expect(byId['integrity.undelivered']).toMatchObject({ result: 'no-samples', samples: 0 });

    const ok = emptyHistory();
    send(ok, mk('h', 1, 0), 'acked', HOT);
    socket(ok, `${RUN}:0:h:1:0:0:sub0`, HOT, T0 - 100, T0 + 10_000);
    const judged = classify(ok, [stored(mk('h', 1, 0), HOT)]);
    expect(judged.undelivered).toBe(1);
    expect(buildReport(judged, { ...base, undeliveredLimit: 1 }).verdict).toBe('pass');
    expect(buildReport(judged, { ...base, undeliveredLimit: 0 }).verdict).toBe('fail');
  });

  it('INTEGRITY_UNDELIVERED_LIMIT and INTEGRITY_SPAN_MS: whole numbers, else a one-line error naming the setting', () => {
    expect(integrityOptionsFromEnv({})).toEqual({ undeliveredLimit: 0, spanMs: 1000 });
    expect(integrityOptionsFromEnv({ INTEGRITY_UNDELIVERED_LIMIT: '3', INTEGRITY_SPAN_MS: '0' })).toEqual({ undeliveredLimit: 3, spanMs: 0 });
    expect(() => integrityOptionsFromEnv({ INTEGRITY_UNDELIVERED_LIMIT: '-1' })).toThrow(/^INTEGRITY_UNDELIVERED_LIMIT: "-1"/);
    expect(() => integrityOptionsFromEnv({ INTEGRITY_SPAN_MS: '1.5' })).toThrow(/^INTEGRITY_SPAN_MS/);
  });
});

describe('readHistory', () => {
  it('merges several raw files (gzip and plain), reads only history metadata, caps receipts with a count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'integrity-'));
    const point = (metric: string, time: string, metadata?: Record<string, string>) =>
      JSON.stringify({ metric, type: 'Point', data: { time, value: 1, tags: {}, ...(metadata ? { metadata } : {}) } });
    const a = [
      JSON.stringify({ type: 'Metric', data: { name: 'message_store_success' }, metric: 'message_store_success' }),
      point('message_store_success', '2026-11-23T15:00:00.100Z', { marker: mk('r', 1, 0), room: ROOM, sender: 'u', outcome: 'acked', detail: '201' }),
      point('http_req_duration', '2026-11-23T15:00:00.100Z'),
      point('ws_fanout_latency', '2026-11-23T15:00:00.200Z', { marker: mk('h', 2, 0), receiver: 'x:sub0' }),
      point('ws_fanout_latency', '2026-11-23T15:00:00.300Z', { marker: mk('h', 2, 1), receiver: 'x:sub0' }),
    ].join('\n');
    const b = [
      point('message_store_success', '2026-11-23T15:00:01.000Z', { marker: `k6m:${RUN}:1:r:1:0:0:0`, room: ROOM, sender: 'u', outcome: 'failed', detail: '503' }),
      point('ws_session_ok', '2026-11-23T15:00:02.000Z', { socket: 'x:sub0', room: HOT, opened_ms: '1', closed_ms: '2' }),
      point('ws_session_ok', '2026-11-23T15:00:02.000Z', { socket: 'x:sub1', room: HOT, opened_ms: '1', closed_ms: '90', gaps: '10-20 80-90' }),
    ].join('\n');
    writeFileSync(join(dir, 'a.json.gz'), gzipSync(a + '\n'));
    writeFileSync(join(dir, 'b.json'), b + '\n');
    const h = await readHistory([join(dir, 'a.json.gz'), join(dir, 'b.json')], { maxReceipts: 1 });
    expect([...h.sends.keys()]).toEqual([mk('r', 1, 0), `k6m:${RUN}:1:r:1:0:0:0`]);
    expect(h.sends.get(mk('r', 1, 0))!.attempts).toEqual([{ outcome: 'acked', detail: '201', atMs: Date.parse('2026-11-23T15:00:00.100Z') }]);
    expect(h.receipts.get('x:sub0')).toHaveLength(1);
    expect(h.dropped.receipts).toBe(1);
    expect(h.sockets.get('x:sub0')).toEqual({ socket: 'x:sub0', room: HOT, openedMs: 1, closedMs: 2, gaps: [] });
    expect(h.sockets.get('x:sub1')?.gaps).toEqual([{ downMs: 10, upMs: 20 }, { downMs: 80, upMs: 90 }]);
  });
});
