import { describe, expect, it } from 'vitest';
import { DELIVERY_MARGIN_MS, judgeDelivery, SubscriberLog } from '../../lib/fanout.js';

const OWN = 'run:0:h:1:0:0';
const OTHER = 'run:0:h:2:0:0';

describe('SubscriberLog', () => {
  it('accepts increasing seqs per sender stream', () => {
    const log = new SubscriberLog(OWN);
    expect([0, 1, 2].map((s) => log.receive(OWN, s))).toEqual(['new', 'new', 'new']);
    expect([5, 7].map((s) => log.receive(OTHER, s))).toEqual(['new', 'new']); // gaps of others are not judged
    expect([...log.own]).toEqual([0, 1, 2]);
  });
  it('reports an inversion as out of order, per sender', () => {
    const log = new SubscriberLog(OWN);
    log.receive(OWN, 0);
    log.receive(OWN, 2);
    expect(log.receive(OWN, 1)).toBe('out_of_order');
    expect(log.receive(OTHER, 0)).toBe('new');
    log.receive(OTHER, 4);
    expect(log.receive(OTHER, 3)).toBe('out_of_order');
  });
  it('reports the same message twice as a duplicate, not as out of order', () => {
    const log = new SubscriberLog(OWN);
    log.receive(OWN, 0);
    log.receive(OWN, 1);
    expect(log.receive(OWN, 1)).toBe('duplicate');
    expect(log.receive(OWN, 0)).toBe('duplicate');
    log.receive(OTHER, 3);
    expect(log.receive(OTHER, 3)).toBe('duplicate');
  });
  it('stops tracking new senders beyond its bound, still judging the own stream', () => {
    const log = new SubscriberLog(OWN, 1);
    log.receive(OTHER, 5);
    log.receive('x', 5);
    expect(log.receive('x', 1)).toBe('new'); // not tracked
    expect(log.receive(OWN, 0)).toBe('new');
    expect(log.receive(OWN, 0)).toBe('duplicate');
  });
});

describe('messages missed across a reconnect (seq gap per sender stream)', () => {
  it('counts, per stream heard before the disconnection, the seqs skipped by its first receipt after the reconnect', () => {
    const log = new SubscriberLog(OWN);
    for (const s of [0, 1, 2]) log.receive(OWN, s);
    for (const s of [10, 11]) log.receive(OTHER, s);
    expect(log.takeMissed()).toBe(0);
    log.reconnected();
    expect(log.receive(OWN, 6)).toBe('new'); // 3, 4, 5 sent while disconnected
    expect(log.takeMissed()).toBe(3);
    expect(log.receive(OWN, 7)).toBe('new'); // only the first receipt after the reconnect shows the gap
    expect(log.receive(OTHER, 12)).toBe('new'); // no gap for this stream
    expect(log.takeMissed()).toBe(0);
    expect(log.receive('new-stream', 4)).toBe('new'); // not heard before: its earlier seqs are not judged
    expect(log.takeMissed()).toBe(0);
    expect(log.missedTotal).toBe(3);
  });
  it('a second reconnect before a stream spoke again keeps the gap over both outages', () => {
    const log = new SubscriberLog(OWN);
    log.receive(OTHER, 1);
    log.reconnected();
    log.reconnected();
    log.receive(OTHER, 5);
    expect(log.takeMissed()).toBe(3);
  });
  it('without a reconnect a gap is not counted as missed (that is a delivery failure, judged elsewhere)', () => {
    const log = new SubscriberLog(OWN);
    log.receive(OTHER, 1);
    log.receive(OTHER, 5);
    expect(log.missedTotal).toBe(0);
  });
});

describe('judgeDelivery', () => {
  const make = (spans: Array<{ openMs: number; closeMs?: number }>, got: number[]) => {
    const log = new SubscriberLog(OWN);
    for (const s of got) log.receive(OWN, s);
    return { state: { spans }, log };
  };
  const subs = [
    make([{ openMs: 100 }], [0, 1]), // got both
    make([{ openMs: 100 }], [0]), // missed seq 1
    make([{ openMs: 150 }], [1]), // opened after seq 0 was sent
    make([{ openMs: 100, closeMs: 130 }], []), // closed for good before either was acknowledged: never judged
    make([], []), // never opened
  ];
  const msg = (seq: number, firstSendMs: number, acked = true) => ({ seq, acked, firstSendMs, resolvedMs: firstSendMs + 10 });
  it('judges each subscriber connected over the whole span', () => {
    expect(judgeDelivery(msg(0, 120), subs)).toEqual([true, true, undefined, undefined, undefined]);
    expect(judgeDelivery(msg(1, 200), subs)).toEqual([true, false, true, undefined, undefined]);
  });
  it('does not judge messages that were not acknowledged', () => {
    expect(judgeDelivery(msg(2, 300, false), subs)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
  it('judges a reconnected subscriber over each connection, not across a gap or just before a close', () => {
    const sub = make([{ openMs: 0, closeMs: 5000 }, { openMs: 7000 }], [0, 3]);
    expect(judgeDelivery(msg(0, 1000), [sub])).toEqual([true]); // inside the first connection
    expect(judgeDelivery(msg(1, 4500), [sub])).toEqual([undefined]); // acknowledged < DELIVERY_MARGIN_MS before the close
    expect(judgeDelivery(msg(2, 6000), [sub])).toEqual([undefined]); // sent while disconnected
    expect(judgeDelivery(msg(3, 8000), [sub])).toEqual([true]); // inside the replacement
    expect(judgeDelivery(msg(4, 9000), [sub])).toEqual([false]); // inside the replacement and missing
    expect(judgeDelivery(msg(5, 3000), [sub])).toEqual([false]); // well inside the first connection and missing
    expect(DELIVERY_MARGIN_MS).toBe(1000);
  });
});
