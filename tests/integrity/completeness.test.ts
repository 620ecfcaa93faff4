/**
 * completeness.ts against fake rooms with the page semantics of real and flawed targets (pure: a fake reader
 * and a virtual clock): short pages without a cursor are unverified, a lagging list is late, a truncation the
 * same at every page size is caught when its last page is full, and a real loss stays lost.
 */
import { describe, expect, it } from 'vitest';
import { readBackComplete, type Reader } from '../../integrity/completeness.js';
import type { RoomRead } from '../../integrity/readback.js';
import type { StoredMessage } from '../../integrity/classify.js';

const T0 = 1_800_000_000_000;
const mk = (i: number) => `k6m:r1:0:w:1:0:0:${i}`;

interface FakeRoom {
  /** marker index → time it becomes visible */
  visibleAt: Map<number, number>;
  /** the whole read at a page size returns at most this many (no cursor after), e.g. a dbman cap */
  cap?: (pageSize: number) => number;
}

function fake(rooms: Record<string, FakeRoom>) {
  let now = T0;
  const calls: Array<{ rooms: readonly string[]; size: number; at: number }> = [];
  const read: Reader = async (list, size) => {
    calls.push({ rooms: list, size, at: now });
    const out = new Map<string, RoomRead>();
    for (const room of list) {
      const r = rooms[room]!;
      const visible: StoredMessage[] = [...r.visibleAt].filter(([, t]) => t <= now).map(([i]) => ({ id: `${room}-${i}`, room, body: `${mk(i)} t=${T0} x` }));
      const shown = visible.slice(0, r.cap ? r.cap(size) : visible.length);
      const last = shown.length % size === 0 && shown.length > 0 ? size : shown.length % size;
      out.set(room, { room, messages: shown, pageSize: size, pages: Math.max(1, Math.ceil(shown.length / size)), lastPageItems: last, atMs: now });
    }
    return out;
  };
  return { read, calls, now: () => now, sleep: async (ms: number) => void (now += ms) };
}

const range = (n: number, at = T0) => new Map(Array.from({ length: n }, (_, i) => [i, at] as const));
const expected = (room: string, n: number) => new Map([[room, new Set(Array.from({ length: n }, (_, i) => mk(i)))]]);

describe('readBackComplete', () => {
  it('a complete room: one read, nothing more', async () => {
    const f = fake({ a: { visibleAt: range(60) } });
    const c = await readBackComplete(['a'], expected('a', 60), f.read, { settleMs: 5000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.stored).toHaveLength(60);
    expect(c.rooms).toEqual([]);
    expect(c.extraReads).toBe(0);
    expect(f.calls).toHaveLength(1);
  });

  it('short pages without a cursor at the default size (a dbman cap of 30, honoured below it): unverified, every message found, none late', async () => {
    const f = fake({ a: { visibleAt: range(60), cap: (size) => (size + 1 > 30 ? 30 : 1e9) } });
    const c = await readBackComplete(['a'], expected('a', 60), f.read, { settleMs: 5000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.unverifiedRooms).toEqual(new Set(['a']));
    expect(c.rooms[0]).toMatchObject({ room: 'a', expected: 60, readDefault: 30, readAny: 60, pageSize: 50, status: 'unverified' });
    expect(c.rooms[0]!.reason).toMatch(/50 per page\) ended without next_cursor holding 30 of 60 .* pages of 10 held 30 more/);
    expect(c.stored).toHaveLength(60);
    expect(c.late.size).toBe(0);
    expect(f.now() - T0).toBe(0); // found at once by the small pages: no waiting
  });

  it('a list that lags 2.5 s: late with first seen / last missing times, not unverified', async () => {
    const vis = range(40);
    for (const i of [37, 38, 39]) vis.set(i, T0 + 2500);
    const f = fake({ a: { visibleAt: vis } });
    const c = await readBackComplete(['a'], expected('a', 40), f.read, { settleMs: 5000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.unverifiedRooms.size).toBe(0);
    expect([...c.late.keys()].sort()).toEqual([mk(37), mk(38), mk(39)]);
    expect(c.late.get(mk(37))).toEqual({ room: 'a', firstSeenMs: T0 + 3500, lastMissingMs: T0 + 1500 });
    expect(c.rooms[0]).toMatchObject({ status: 'complete', readAny: 40 });
  });

  it('a message lagging only until the small-page read: late, the room complete', async () => {
    const vis = range(10);
    vis.set(9, T0 + 1); // visible a moment after the first read
    const f = fake({ a: { visibleAt: vis } });
    const read: Reader = async (list, size) => {
      const r = await f.read(list, size);
      await f.sleep(1);
      return r;
    };
    const c = await readBackComplete(['a'], expected('a', 10), read, { settleMs: 2000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.unverifiedRooms.size).toBe(0);
    expect(c.late.has(mk(9))).toBe(true);
  });

  it('a real loss: missing at every page size until the settle time, the room complete (so: lost)', async () => {
    const vis = range(20);
    vis.delete(7);
    const f = fake({ a: { visibleAt: vis } });
    const c = await readBackComplete(['a'], expected('a', 20), f.read, { settleMs: 3000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.unverifiedRooms.size).toBe(0);
    expect(c.rooms[0]).toMatchObject({ status: 'complete', expected: 20, readAny: 19 });
    expect(c.late.size).toBe(0);
    expect(f.now() - T0).toBe(3000);
    expect(f.calls.map((x) => x.size)).toEqual([50, 10, 50, 50, 50]); // 0.5, 1 s (→1.5), 2 s capped at 3 s
  });

  it('a truncation the same at every page size whose last page is full: unverified, not lost', async () => {
    const f = fake({ a: { visibleAt: range(80), cap: () => 50 } });
    const c = await readBackComplete(['a'], expected('a', 80), f.read, { settleMs: 1000, pageSize: 50, now: f.now, sleep: f.sleep });
    expect(c.unverifiedRooms).toEqual(new Set(['a']));
    expect(c.rooms[0]!.reason).toMatch(/last page \(50 items at 50 per page\) came without next_cursor/);
  });

  it('one id on two pages (an order that shifts between pages) is one stored message, not a copy', async () => {
    const read: Reader = async (list, size) =>
      new Map(list.map((room) => [room, { room, pageSize: size, pages: 2, lastPageItems: 1, atMs: T0, messages: [{ id: 'x', room, body: `${mk(0)} t=1` }, { id: 'x', room, body: `${mk(0)} t=1` }] }]));
    const c = await readBackComplete(['a'], expected('a', 1), read, { settleMs: 0, pageSize: 50 });
    expect(c.stored).toHaveLength(1);
  });
});
