import { describe, expect, it } from 'vitest';
import { k6Duration, parseDurationS } from '../../lib/duration.js';
import { clientMsgId, formatMarker, messageBody, parseBody, senderKey, type Marker } from '../../lib/marker.js';
import { phaseAt, phaseClock, phaseTags, storeTags } from '../../lib/phase.js';
import { pageHasCursor } from '../../lib/page-text.js';
import { pick, restActions } from '../../lib/rest-plan.js';

describe('phase', () => {
  const w = [
    [20, 40],
    [60, 70],
  ] as const;
  it.each([
    [0, 'baseline'],
    [19.99, 'baseline'],
    [20, 'fault'],
    [39.9, 'fault'],
    [40, 'recovery'],
    [59, 'recovery'],
    [65, 'fault'],
    [70, 'recovery'],
    [1000, 'recovery'],
  ] as const)('at %s s → %s', (t, phase) => {
    expect(phaseAt(t, w)).toBe(phase);
  });
  it('is baseline everywhere without windows', () => {
    expect(phaseAt(1e6, [])).toBe('baseline');
    expect(phaseClock(0, [])(1e9)).toBe('baseline');
  });
  it('counts from the load start', () => {
    const clock = phaseClock(1_000_000, [[20, 40]]);
    expect(clock(1_000_000 + 19_000)).toBe('baseline');
    expect(clock(1_000_000 + 21_000)).toBe('fault');
    expect(clock(1_000_000 + 41_000)).toBe('recovery');
  });
});

describe('marker', () => {
  const m: Marker = { run: 'r1.x', inst: '0', src: 'h', vu: 12, iter: 3, sock: 2, seq: 41 };
  it('round-trips through a message body', () => {
    const body = messageBody(m, 1700000000123.4);
    expect(body).toBe('k6m:r1.x:0:h:12:3:2:41 t=1700000000123 load test message');
    expect(parseBody(body)).toEqual({ marker: m, id: formatMarker(m), sendMs: 1700000000123 });
  });
  it('is unique per field', () => {
    const ids = new Set<string>();
    for (const k of ['run', 'inst', 'vu', 'iter', 'sock', 'seq'] as const) {
      ids.add(formatMarker({ ...m, [k]: k === 'run' || k === 'inst' ? 'other' : 999 }));
    }
    ids.add(formatMarker({ ...m, src: 'w' }));
    ids.add(formatMarker(m));
    expect(ids.size).toBe(8);
  });
  it('groups a sender stream without its seq', () => {
    expect(senderKey(m)).toBe(senderKey({ ...m, seq: 0 }));
    expect(senderKey(m)).not.toBe(senderKey({ ...m, sock: 3 }));
    expect(clientMsgId(m)).toBe(formatMarker(m));
  });
  it('ignores other bodies', () => {
    expect(parseBody('hello')).toBeUndefined();
    expect(parseBody(undefined)).toBeUndefined();
    expect(parseBody('x k6m:r:0:h:1:1:1:1')).toBeUndefined();
    expect(parseBody('k6m:r:0:z:1:1:1:1')).toBeUndefined();
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90],
    ['1m30s', 90],
    ['250ms', 0.25],
    ['2h', 7200],
    ['45', 45],
    ['1.5m', 90],
  ] as const)('%s = %s s', (t, s) => {
    expect(parseDurationS(t)).toBe(s);
  });
  it.each(['', 'm', '5 m', '-3s', '1d'])('rejects %j', (t) => {
    expect(parseDurationS(t)).toBeUndefined();
  });
  it('writes k6 durations', () => {
    expect(k6Duration(90)).toBe('90s');
    expect(k6Duration(1.5)).toBe('1500ms');
    expect(() => k6Duration(-1)).toThrow(RangeError);
  });
});

describe('REST iteration plan', () => {
  it('posts and lists every time, the rest at fixed shares', () => {
    const n = 1000;
    const count = { listNextPage: 0, listRooms: 0, createRoom: 0, login: 0 };
    for (let i = 0; i < n; i++) {
      const a = restActions(i);
      expect(a.post && a.list).toBe(true);
      for (const k of Object.keys(count) as Array<keyof typeof count>) if (a[k]) count[k] += 1;
    }
    expect(count).toEqual({ listNextPage: 100, listRooms: 50, createRoom: 20, login: 10 });
  });
  it('picks round robin', () => {
    expect(pick(['a', 'b', 'c'], 4)).toBe('b');
    expect(pick(['a'], -1)).toBe('a');
    expect(pick([], 3)).toBeUndefined();
  });
});

describe('page text', () => {
  it('finds a non-empty next_cursor in any spelling, and no empty or absent one', () => {
    const page = (rest: string) => `{"items":[{"id":"m1","body":"k6m:r:0:r:1:0:0:0 t=1 x"}]${rest}}`;
    expect(pageHasCursor(page(',"next_cursor":"c1"'))).toBe(true);
    expect(pageHasCursor(page(', "next_cursor" : "c1"'))).toBe(true);
    expect(pageHasCursor(page(',"next_cursor":""'))).toBe(false);
    expect(pageHasCursor(page(',"next_cursor":null'))).toBe(false);
    expect(pageHasCursor(page(''))).toBe(false);
    expect(pageHasCursor('{"items":[],"next_cursor":"')).toBe(false); // cut off: no cursor value, as the expression says
    // an empty compact one first, a real one later in another spelling
    expect(pageHasCursor('{"meta":{"next_cursor":""},"next_cursor" :"c2"}')).toBe(true);
  });
});

describe('shared tag objects', () => {
  it('one object per phase (and transport), with the right tags', () => {
    expect(phaseTags('fault')).toEqual({ phase: 'fault' });
    expect(phaseTags('fault')).toBe(phaseTags('fault'));
    expect(phaseTags('baseline')).not.toBe(phaseTags('fault'));
    expect(storeTags('ws', 'recovery')).toEqual({ transport: 'ws', phase: 'recovery' });
    expect(storeTags('ws', 'recovery')).toBe(storeTags('ws', 'recovery'));
    expect(storeTags('rest', 'recovery')).toEqual({ transport: 'rest', phase: 'recovery' });
  });
});
