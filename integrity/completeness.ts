/**
 * Whether a room was read back completely, and whether a missing message is only late: the rules that keep
 * "lost" true on any deployment. PURE apart from the injected reader and clock (unit-tested with fakes).
 *
 * 1. Every room is read at the contract's default page size (50), following next_cursor.
 * 2. Rooms missing acknowledged markers are read again at once with a small page size (10, honoured by the
 *    contract's limit 1..199): a page semantics that truncates default-size pages without a cursor (the real
 *    chat does that at limit=200) shows up as markers only the small pages hold.
 * 3. Rooms still missing markers are re-read (small pages where step 2 found more) after 0.5, 1, 2, 4 s ... up to
 *    the settle time: a marker that appears only then is **late**, seen `firstSeenMs`, not seen at `lastMissingMs`.
 * 4. After the settle time, rooms where the small pages found more are read once more at the default size: if
 *    that read still lacks what the small pages hold, the default-size paging is short → the room is
 *    **unverified** (never "lost"); if it now has them, they were only lagging (late).
 *    A room whose default-size read ended on a full page without next_cursor while markers are missing is
 *    unverified too (the contract's own warning: "no cursor" is no proof of the end).
 * 5. What is still missing in a complete room is lost; in an unverified room it is not judged.
 *
 * What this cannot tell: a target that truncates every read to the same messages whatever the page size (or
 * never shows some messages to any list) looks exactly like a loss through the public API.
 */
import type { StoredMessage } from './classify.js';
import { parseBody } from '../lib/marker.js';
import type { RoomRead } from './readback.js';

export const CROSS_PAGE_SIZE = 10;

export interface Reader {
  (rooms: readonly string[], pageSize: number): Promise<Map<string, RoomRead>>;
}

export interface CompletenessOptions {
  settleMs: number;
  pageSize: number;
  crossPageSize?: number;
  /** First re-read this long after the first read; doubling (default 500). */
  firstPollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RoomCompleteness {
  room: string;
  /** Acknowledged markers the history expects there. */
  expected: number;
  /** Acknowledged markers the (last) default-size read found. */
  readDefault: number;
  /** Acknowledged markers found by any read. */
  readAny: number;
  pageSize: number;
  status: 'complete' | 'unverified';
  reason?: string;
}

export interface LateSighting {
  room: string;
  firstSeenMs: number;
  lastMissingMs: number;
}

export interface Completeness {
  /** Every message any read found (one entry per stored id). */
  stored: StoredMessage[];
  /** Only rooms that missed acknowledged markers at first, and rooms found unverified. */
  rooms: RoomCompleteness[];
  unverifiedRooms: Set<string>;
  late: Map<string, LateSighting>;
  /** Room reads made after the first pass. */
  extraReads: number;
}

const markersOf = (msgs: readonly StoredMessage[]): Set<string> => {
  const s = new Set<string>();
  for (const m of msgs) {
    const p = parseBody(m.body);
    if (p) s.add(p.id);
  }
  return s;
};

class Union {
  readonly byRoom = new Map<string, Map<string, StoredMessage>>();
  readonly markers = new Map<string, Set<string>>();
  add(r: RoomRead): Set<string> {
    let ids = this.byRoom.get(r.room);
    if (!ids) this.byRoom.set(r.room, (ids = new Map()));
    let mk = this.markers.get(r.room);
    if (!mk) this.markers.set(r.room, (mk = new Set()));
    const fresh = new Set<string>();
    r.messages.forEach((m, i) => {
      // one entry per stored id: a page order that shifts between pages must not make a copy out of one message
      const key = m.id || `${m.body}#${i}`;
      if (!ids.has(key)) ids.set(key, m);
      const p = parseBody(m.body);
      if (p && !mk.has(p.id)) {
        mk.add(p.id);
        fresh.add(p.id);
      }
    });
    return fresh;
  }
  missing(room: string, expected: ReadonlySet<string>): string[] {
    const have = this.markers.get(room) ?? new Set();
    return [...expected].filter((m) => !have.has(m));
  }
}

const count = (expected: ReadonlySet<string>, found: ReadonlySet<string>): number => [...expected].filter((m) => found.has(m)).length;

/** `expected`: per room, the markers the history saw acknowledged there; `rooms`: every room the run used. */
export async function readBackComplete(
  rooms: readonly string[],
  expected: ReadonlyMap<string, ReadonlySet<string>>,
  read: Reader,
  o: CompletenessOptions,
): Promise<Completeness> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const small = o.crossPageSize ?? CROSS_PAGE_SIZE;
  const exp = (room: string) => expected.get(room) ?? new Set<string>();
  const union = new Union();
  const t0 = now();
  const first = await read(rooms, o.pageSize);
  for (const r of first.values()) union.add(r);
  const lastDefault = new Map(first);
  let extraReads = 0;
  const lastMissing = new Map<string, number>();
  const late = new Map<string, LateSighting>();
  const missingRooms = rooms.filter((room) => union.missing(room, exp(room)).length > 0);
  for (const room of missingRooms) for (const m of union.missing(room, exp(room))) lastMissing.set(m, first.get(room)?.atMs ?? t0);

  // 2. small pages at once
  const smallFound = new Map<string, Set<string>>();
  if (missingRooms.length) {
    const cross = await read(missingRooms, small);
    extraReads += cross.size;
    for (const r of cross.values()) {
      const fresh = union.add(r);
      if (fresh.size) smallFound.set(r.room, fresh);
    }
  }

  // 3. re-reads until the settle time
  let delay = o.firstPollMs ?? 500;
  while (true) {
    const pending = missingRooms.filter((room) => union.missing(room, exp(room)).length > 0);
    const wait = Math.min(delay, t0 + o.settleMs - now());
    if (!pending.length || wait <= 0) break;
    await sleep(wait);
    delay *= 2;
    const bySize = new Map<number, string[]>();
    for (const room of pending) {
      const size = smallFound.has(room) ? small : o.pageSize;
      bySize.set(size, [...(bySize.get(size) ?? []), room]);
    }
    for (const [size, list] of bySize) {
      const got = await read(list, size);
      extraReads += got.size;
      for (const r of got.values()) {
        if (size === o.pageSize) lastDefault.set(r.room, r);
        for (const m of union.add(r)) late.set(m, { room: r.room, firstSeenMs: r.atMs, lastMissingMs: lastMissing.get(m) ?? t0 });
        for (const m of union.missing(r.room, exp(r.room))) lastMissing.set(m, r.atMs);
      }
    }
  }

  // 4. confirm short default pages
  const unverified = new Map<string, string>();
  const confirm = [...smallFound.keys()];
  if (confirm.length) {
    const again = await read(confirm, o.pageSize);
    extraReads += again.size;
    for (const r of again.values()) {
      lastDefault.set(r.room, r);
      const atDefault = markersOf(r.messages);
      const onlySmall = [...(union.markers.get(r.room) ?? [])].filter((m) => !atDefault.has(m) && exp(r.room).has(m));
      if (onlySmall.length) {
        unverified.set(r.room, `the default-size read (${o.pageSize} per page) ended without next_cursor holding ${count(exp(r.room), atDefault)} of ${exp(r.room).size} acknowledged messages; pages of ${small} held ${onlySmall.length} more`);
      } else {
        // they were lagging, not beyond a short page: seen by the small-page read
        for (const m of smallFound.get(r.room) ?? []) late.set(m, { room: r.room, firstSeenMs: t0, lastMissingMs: lastMissing.get(m) ?? t0 });
      }
    }
  }
  for (const room of missingRooms) {
    const r = lastDefault.get(room);
    if (unverified.has(room) || !r || union.missing(room, exp(room)).length === 0) continue;
    if (r.lastPageItems >= r.pageSize) {
      unverified.set(room, `the last page (${r.lastPageItems} items at ${r.pageSize} per page) came without next_cursor while acknowledged messages are missing`);
    }
  }

  const report: RoomCompleteness[] = [];
  for (const room of new Set([...missingRooms, ...unverified.keys()])) {
    const d = lastDefault.get(room);
    const reason = unverified.get(room);
    report.push({
      room,
      expected: exp(room).size,
      readDefault: d ? count(exp(room), markersOf(d.messages)) : 0,
      readAny: count(exp(room), union.markers.get(room) ?? new Set()),
      pageSize: o.pageSize,
      status: reason ? 'unverified' : 'complete',
      ...(reason ? { reason } : {}),
    });
  }
  const stored = [...union.byRoom.values()].flatMap((m) => [...m.values()]);
  return { stored, rooms: report, unverifiedRooms: new Set(unverified.keys()), late, extraReads };
}
