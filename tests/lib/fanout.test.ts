import { describe, expect, it } from 'vitest';
import { judgeDelivery, SubscriberLog } from '../../lib/fanout.js';

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

describe('judgeDelivery', () => {
  const make = (openedAtMs: number | undefined, closedEarly: boolean, got: number[]) => {
    const log = new SubscriberLog(OWN);
    for (const s of got) log.receive(OWN, s);
    return { state: { openedAtMs, closedEarly }, log };
  };
  const subs = [
    make(100, false, [0, 1]), // got both
    make(100, false, [0]), // missed seq 1
    make(150, false, [1]), // opened after seq 0 was sent
    make(100, true, []), // closed early: never judged
    make(undefined, false, []), // never opened
  ];
  it('judges each subscriber connected over the whole span', () => {
    expect(judgeDelivery({ seq: 0, acked: true, firstSendMs: 120 }, subs)).toEqual([true, true, undefined, undefined, undefined]);
    expect(judgeDelivery({ seq: 1, acked: true, firstSendMs: 200 }, subs)).toEqual([true, false, true, undefined, undefined]);
  });
  it('does not judge messages that were not acknowledged', () => {
    expect(judgeDelivery({ seq: 2, acked: false, firstSendMs: 300 }, subs)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
