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
import type { Completeness } from '../../integrity/completeness.js';
import { DeliveryDigest, streamKey } from '../../lib/delivery-digest.js';
import { parseBody } from '../../lib/marker.js';

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
/** A socket's end with its delivery digest of `heard` (markers in receipt order). */
function socket(h: History, key: string, room: string, openedMs: number, closedMs: number, heard: string[] = [], gaps = ''): void {
  const d = new DeliveryDigest();
  for (const m of heard) {
    const p = parseBody(m)!;
    d.record(streamKey(p.marker), p.marker.seq);
  }
  addRecord(h, 'ws_session_ok', closedMs, { socket: key, room, opened_ms: String(openedMs), closed_ms: String(closedMs), gaps, digest: d.encode() });
}
const noReadback: Completeness = { stored: [], rooms: [], unverifiedRooms: new Set(), late: new Map(), extraReads: 0 };
const OPTIONS = { undeliveredLimit: 0, spanMs: 1000, settleMs: 5000 };

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

describe('classify: delivery and order (per-socket digests)', () => {
  const sub = (j: number) => `${RUN}:0:h:3:0:0:sub${j}`;
  const PUB = `${RUN}:0:h:3:0:0:pub`;

  it('a stored message a socket open over its whole span never got is undelivered (per socket; the sender\'s own socket is not judged)', () => {
    const h = emptyHistory();
    const m0 = mk('h', 3, 0);
    const m1 = mk('h', 3, 1);
    send(h, m0, 'acked', HOT, T0 + 10);
    send(h, m1, 'acked', HOT, T0 + 1010);
    socket(h, sub(0), HOT, T0 - 1000, T0 + 10_000, [m0, m1]);
    socket(h, sub(1), HOT, T0 - 1000, T0 + 10_000, [m0]);
    socket(h, PUB, HOT, T0 - 1000, T0 + 10_000, []); // its own messages: the echo is the acknowledgement
    const c = classify(h, [stored(m0, HOT, 'a', T0), stored(m1, HOT, 'b', T0 + 1000)]);
    expect(c.deliveriesJudged).toBe(4);
    expect(c.socketsJudged).toBe(3);
    expect(c.undelivered).toBe(1);
    expect(c.examples.undelivered[0]).toMatchObject({ marker: m1, receiver: sub(1) });
  });

  it('ws part room-mates: every socket of the room is judged for every other sender', () => {
    const h = emptyHistory();
    const a = (seq: number) => `k6m:${RUN}:0:w:1:0:0:${seq}`;
    const b = (seq: number) => `k6m:${RUN}:0:w:1:0:1:${seq}`;
    for (const seq of [0, 1, 2]) {
      send(h, a(seq), 'acked', ROOM, T0 + seq * 1000 + 10);
      send(h, b(seq), 'acked', ROOM, T0 + seq * 1000 + 20);
    }
    socket(h, `${RUN}:0:w:1:0:0`, ROOM, T0 - 100, T0 + 10_000, [a(0), b(0), a(1), b(1), a(2), b(2)]);
    socket(h, `${RUN}:0:w:1:0:1`, ROOM, T0 - 100, T0 + 10_000, [a(0), b(0), b(1), a(2), b(2)]);
    const msgs = [0, 1, 2].flatMap((seq) => [stored(a(seq), ROOM, `a${seq}`, T0 + seq * 1000), stored(b(seq), ROOM, `b${seq}`, T0 + seq * 1000)]);
    const c = classify(h, msgs);
    expect(c.deliveriesJudged).toBe(6);
    expect(c.undelivered).toBe(1);
    expect(c.examples.undelivered[0]).toMatchObject({ marker: a(1), receiver: `${RUN}:0:w:1:0:1` });
  });

  it('sockets not open over the span, and messages not stored, are not judged', () => {
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

  it('a reconnected socket is judged only over its connected spans: a message sent in a gap is missed while reconnecting', () => {
    const m = (seq: number) => mk('h', 3, seq);
    const sendAt = [T0, T0 + 3000, T0 + 6000, T0 + 9000];
    const build = (sub0Heard: string[]) => {
      const h = emptyHistory();
      sendAt.forEach((t, seq) => send(h, m(seq), 'acked', HOT, t + 10));
      // sub0 was disconnected from T0+2500 to T0+4000 and again from T0+8500 to the end (T0+20000)
      socket(h, sub(0), HOT, T0 - 1000, T0 + 20_000, sub0Heard, `${T0 + 2500}-${T0 + 4000} ${T0 + 8500}-${T0 + 20_000}`);
      socket(h, sub(1), HOT, T0 - 1000, T0 + 20_000, [m(0), m(1), m(3)]); // m2 undelivered to sub1
      return classify(h, sendAt.map((t, seq) => stored(m(seq), HOT, `id${seq}`, t)));
    };
    const c = build([m(0), m(2)]); // m1 and m3 were sent while it was disconnected
    expect(c.missedWhileReconnecting).toBe(2);
    expect(c.undelivered).toBe(1);
    expect(c.examples.undelivered).toEqual([expect.objectContaining({ marker: m(2), receiver: sub(1) })]);
    expect(c.deliveriesJudged).toBe(4 + 2); // sub1 all four, sub0 the two sent while it was connected
    // a message sent in a gap that arrived anyway is neither missed nor judged
    expect(build([m(0), m(2), m(1)]).missedWhileReconnecting).toBe(1);
  });

  it('reordered and duplicate deliveries come from each socket\'s digest, with examples', () => {
    const h = emptyHistory();
    const a = (seq: number) => mk('h', 3, seq);
    const b = (seq: number) => mk('h', 4, seq);
    socket(h, sub(0), HOT, T0 - 10, T0 + 10_000, [a(0), b(1), a(2), b(0), a(1), a(2)]); // b0 after b1, a1 after a2, a2 twice
    socket(h, sub(1), HOT, T0 - 10, T0 + 10_000, [a(0), a(1)]);
    const c = classify(h, []);
    expect(c.reordered).toBe(2);
    expect(c.examples.reordered.map((e) => [e.marker, e.afterSeq])).toEqual([[b(0), 1], [a(1), 2]]);
    expect(c.duplicateDeliveries).toBe(1);
    expect(c.examples.duplicateDeliveries[0]).toMatchObject({ marker: a(2), receiver: sub(0) });
    // a message stored twice may be delivered twice: that is the duplicate's finding, not the delivery's
    expect(classify(h, [stored(a(2), HOT, 'x'), stored(a(2), HOT, 'y')]).duplicateDeliveries).toBe(0);
  });

  it('examples are capped at 20 per class', () => {
    const h = emptyHistory();
    for (let i = 0; i < 30; i++) send(h, mk('r', 1, i), 'acked');
    const c = classify(h, []);
    expect(c.lost).toBe(30);
    expect(c.examples.lost).toHaveLength(20);
  });
});

describe('classify: late, unverified, idempotency', () => {
  it('a message seen only on a re-read is late with its lag; a missing one in an unverified room is not lost', () => {
    const h = emptyHistory();
    send(h, mk('r', 1, 0), 'acked', ROOM, T0 + 100);
    send(h, mk('r', 1, 1), 'acked', 'short-room', T0 + 100);
    const late = new Map([[mk('r', 1, 0), { room: ROOM, firstSeenMs: T0 + 2600, lastMissingMs: T0 + 1100 }]]);
    const c = classify(h, [stored(mk('r', 1, 0))], { late, unverifiedRooms: new Set(['short-room']) });
    expect(c.late).toBe(1);
    expect(c.ok + c.lost).toBe(0);
    expect(c.unverifiedMessages).toBe(1);
    expect(c.ackedJudged).toBe(1);
    expect(c.lateLagMs).toEqual({ max: 2500, median: 2500 });
    expect(c.examples.late[0]).toMatchObject({ marker: mk('r', 1, 0), lagMs: 2500, visibleAt: new Date(T0 + 2600).toISOString() });
  });

  it('a repeated client_msg_id stored twice is an idempotency failure (and a duplicate); refused and stored once is fine', () => {
    const h = emptyHistory();
    const a = mk('w', 1, 0);
    const b = mk('w', 1, 1);
    send(h, a, 'acked');
    send(h, b, 'acked');
    addRecord(h, 'ws_repeat_answers', T0 + 300, { marker: a, room: ROOM, sender: 'u1', answer: 'accepted', detail: '' });
    addRecord(h, 'ws_repeat_answers', T0 + 300, { marker: b, room: ROOM, sender: 'u1', answer: 'refused', detail: 'duplicate' });
    const c = classify(h, [stored(a, ROOM, 'x'), stored(a, ROOM, 'y'), stored(b, ROOM, 'z')]);
    expect(c.repeatsJudged).toBe(2);
    expect(c.idempotency).toBe(1);
    expect(c.duplicates).toBe(1);
    expect(c.repeatAnswers).toEqual({ accepted: 1, refused: 1 });
    expect(c.examples.idempotency[0]).toMatchObject({ marker: a, copies: 2, ids: ['x', 'y'], answers: ['accepted'] });
  });
});

describe('thresholds, report, options', () => {
  it('lost == 0, duplicates == 0, undelivered <= limit; nothing judged is no-samples; bounds reported', () => {
    const h = emptyHistory();
    send(h, mk('r', 1, 0), 'acked');
    const base = { options: OPTIONS, rooms: 1, rawFiles: 1, pageSize: 50 };
    const r = buildReport(classify(h, []), noReadback, h, base);
    expect(r.verdict).toBe('fail');
    expect(r.lost).toBe(1);
    expect(r.counts.lost).toBe(1);
    const byId = Object.fromEntries(r.thresholds.map((t) => [t.id, t]));
    expect(byId['integrity.lost']).toMatchObject({ result: 'fail', observed: 1, operator: '==', limit: 0, samples: 1 });
    expect(byId['integrity.duplicates']).toMatchObject({ result: 'no-samples', samples: 0 });
    expect(byId['integrity.undelivered']).toMatchObject({ result: 'no-samples', samples: 0 });
    expect(byId['integrity.unverified']).toMatchObject({ result: 'pass', samples: 1 });
    expect(byId['integrity.idempotency']).toBeUndefined(); // no WS sends in this history
    expect(byId['integrity.late']).toBeUndefined(); // no late limit set
    expect(r.bounds.lost).toEqual({ events: 1, judged: 1, upper95: 1 });

    const ok = emptyHistory();
    send(ok, mk('h', 1, 0), 'acked', HOT);
    socket(ok, `${RUN}:0:h:1:0:0:sub0`, HOT, T0 - 100, T0 + 10_000);
    const judged = classify(ok, [stored(mk('h', 1, 0), HOT)]);
    expect(judged.undelivered).toBe(1);
    const pass = buildReport(judged, noReadback, ok, { ...base, options: { ...OPTIONS, undeliveredLimit: 1 } });
    expect(pass.thresholds.find((t) => t.id === 'integrity.undelivered')?.result).toBe('pass');
    expect(pass.thresholds.find((t) => t.id === 'integrity.idempotency')).toMatchObject({ result: 'no-samples' });
    expect(buildReport(judged, noReadback, ok, base).thresholds.find((t) => t.id === 'integrity.undelivered')?.result).toBe('fail');
  });

  it('a rate target: the 95 % bound above it is insufficient evidence, naming the messages needed', () => {
    const h = emptyHistory();
    for (let i = 0; i < 231; i++) send(h, mk('r', 1, i), 'acked');
    const c = classify(h, Array.from({ length: 231 }, (_, i) => stored(mk('r', 1, i))));
    const r = buildReport(c, noReadback, h, { options: OPTIONS, profileTargets: { lostRateMax: 0.001, reorderedMax: 0 }, rooms: 1, rawFiles: 1, pageSize: 50 });
    expect(r.bounds.lost).toMatchObject({ events: 0, judged: 231, target: 0.001, needed: 2995 });
    expect(r.bounds.lost.upper95).toBeCloseTo(0.01289, 4);
    const ev = r.thresholds.find((t) => t.id === 'integrity.lost_evidence')!;
    expect(ev).toMatchObject({ result: 'fail', aggregation: 'rate', limit: 0.001, samples: 231 });
    expect(ev.meaning).toMatch(/0 lost of 231 judged bounds the rate below 1.29 % \(95 %\), above the target 0.1 %: insufficient evidence; 2,995 would be needed/);
    expect(r.thresholds.find((t) => t.id === 'integrity.lost')?.result).toBe('pass');
    // the setting replaces the profile's target; `none` drops it
    const loose = buildReport(c, noReadback, h, { options: { ...OPTIONS, targets: { lost: 0.02 } }, profileTargets: { lostRateMax: 0.001, reorderedMax: 0 }, rooms: 1, rawFiles: 1, pageSize: 50 });
    expect(loose.thresholds.find((t) => t.id === 'integrity.lost_evidence')?.result).toBe('pass');
    const none = buildReport(c, noReadback, h, { options: { ...OPTIONS, targets: { lost: null } }, profileTargets: { lostRateMax: 0.001, reorderedMax: 0 }, rooms: 1, rawFiles: 1, pageSize: 50 });
    expect(none.thresholds.find((t) => t.id === 'integrity.lost_evidence')).toBeUndefined();
  });

  it('the settings: whole numbers, rates or none, else a one-line error naming the setting', () => {
    expect(integrityOptionsFromEnv({})).toEqual({ undeliveredLimit: 0, spanMs: 1000, settleMs: 5000, lateLimit: undefined, reorderedLimit: undefined, targets: {} });
    expect(integrityOptionsFromEnv({ INTEGRITY_UNDELIVERED_LIMIT: '3', INTEGRITY_SPAN_MS: '0', INTEGRITY_SETTLE_MS: '2500', INTEGRITY_LATE_LIMIT: '0', INTEGRITY_REORDERED_LIMIT: '4', INTEGRITY_LOST_TARGET: '0.001', INTEGRITY_UNDELIVERED_TARGET: 'none' })).toEqual({
      undeliveredLimit: 3, spanMs: 0, settleMs: 2500, lateLimit: 0, reorderedLimit: 4, targets: { lost: 0.001, undelivered: null },
    });
    expect(() => integrityOptionsFromEnv({ INTEGRITY_UNDELIVERED_LIMIT: '-1' })).toThrow(/^INTEGRITY_UNDELIVERED_LIMIT: "-1"/);
    expect(() => integrityOptionsFromEnv({ INTEGRITY_SPAN_MS: '1.5' })).toThrow(/^INTEGRITY_SPAN_MS/);
    expect(() => integrityOptionsFromEnv({ INTEGRITY_SETTLE_MS: '200000' })).toThrow(/^INTEGRITY_SETTLE_MS: "200000" is not allowed \(a whole number of ms from 0 to 120000\)$/);
    expect(() => integrityOptionsFromEnv({ INTEGRITY_LOST_TARGET: '1' })).toThrow(/^INTEGRITY_LOST_TARGET/);
    expect(() => integrityOptionsFromEnv({ INTEGRITY_DUPLICATES_TARGET: 'low' })).toThrow(/^INTEGRITY_DUPLICATES_TARGET: "low"/);
  });
});

describe('readHistory', () => {
  it('merges several raw files (gzip and plain), reads only history metadata: sends, sockets with digests, repeats, read-after-write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'integrity-'));
    const point = (metric: string, time: string, metadata?: Record<string, string>, value = 1) =>
      JSON.stringify({ metric, type: 'Point', data: { time, value, tags: {}, ...(metadata ? { metadata } : {}) } });
    const a = [
      JSON.stringify({ type: 'Metric', data: { name: 'message_store_success' }, metric: 'message_store_success' }),
      point('message_store_success', '2026-11-23T15:00:00.100Z', { marker: mk('r', 1, 0), room: ROOM, sender: 'u', outcome: 'acked', detail: '201' }),
      point('http_req_duration', '2026-11-23T15:00:00.100Z'),
      point('read_after_write_miss', '2026-11-23T15:00:00.150Z', { marker: mk('r', 1, 0), room: ROOM }, 1),
      point('read_after_write_miss', '2026-11-23T15:00:00.160Z', { marker: mk('r', 2, 0), room: ROOM }, 0),
      point('ws_repeat_answers', '2026-11-23T15:00:00.300Z', { marker: mk('w', 2, 1), room: ROOM, answer: 'refused', detail: 'duplicate' }),
    ].join('\n');
    const b = [
      point('message_store_success', '2026-11-23T15:00:01.000Z', { marker: `k6m:${RUN}:1:r:1:0:0:0`, room: ROOM, sender: 'u', outcome: 'failed', detail: '503' }),
      point('ws_session_ok', '2026-11-23T15:00:02.000Z', { socket: 'x:sub0', room: HOT, opened_ms: '1', closed_ms: '2', digest: '1|0:h:2:0:0=0-1|2|0:|0:|0' }),
      point('ws_session_ok', '2026-11-23T15:00:02.000Z', { socket: 'x:sub1', room: HOT, opened_ms: '1', closed_ms: '90', gaps: '10-20 80-90' }),
    ].join('\n');
    writeFileSync(join(dir, 'a.json.gz'), gzipSync(a + '\n'));
    writeFileSync(join(dir, 'b.json'), b + '\n');
    const h = await readHistory([join(dir, 'a.json.gz'), join(dir, 'b.json')]);
    expect([...h.sends.keys()]).toEqual([mk('r', 1, 0), `k6m:${RUN}:1:r:1:0:0:0`]);
    expect(h.sends.get(mk('r', 1, 0))!.attempts).toEqual([{ outcome: 'acked', detail: '201', atMs: Date.parse('2026-11-23T15:00:00.100Z') }]);
    expect(h.sockets.get('x:sub0')).toEqual({ socket: 'x:sub0', room: HOT, openedMs: 1, closedMs: 2, gaps: [], digest: '1|0:h:2:0:0=0-1|2|0:|0:|0' });
    expect(h.sockets.get('x:sub1')?.gaps).toEqual([{ downMs: 10, upMs: 20 }, { downMs: 80, upMs: 90 }]);
    expect(h.repeats.get(mk('w', 2, 1))).toEqual([expect.objectContaining({ answer: 'refused', room: ROOM })]);
    expect(h.readAfterWrite).toMatchObject({ judged: 2, missed: 1, examples: [{ marker: mk('r', 1, 0), room: ROOM }] });
  });
});
