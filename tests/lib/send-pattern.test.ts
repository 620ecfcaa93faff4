/**
 * The send patterns (lib/send-pattern.ts): the ws part's bursts, the idempotency repeat schedule, the hot-room
 * publisher's slots.
 */
import { describe, expect, it } from 'vitest';
import { Burst, burstStarts, PublisherSlots, repeatsAfter } from '../../lib/send-pattern.js';

describe('bursts', () => {
  it('every Nth scheduled send starts a burst of size - 1 more messages; an error cancels it', () => {
    const p = { every: 4, size: 3 };
    expect(Array.from({ length: 12 }, (_, i) => i).filter((i) => burstStarts(i, p))).toEqual([3, 7, 11]);
    const b = new Burst(p);
    b.scheduled(2);
    expect(b.takeNext()).toBe(false);
    b.scheduled(3);
    expect([b.takeNext(), b.takeNext(), b.takeNext()]).toEqual([true, true, false]);
    b.scheduled(7);
    b.cancel();
    expect(b.takeNext()).toBe(false);
    expect(burstStarts(3, { every: 4, size: 1 })).toBe(false);
    expect(burstStarts(3, { every: 0, size: 3 })).toBe(false);
  });
});

describe('repeatsAfter (idempotency repeats)', () => {
  it('every Nth acknowledged message from N/2 on, the first too when asked, never with every 0', () => {
    const picked = (every: number, first: boolean) => Array.from({ length: 30 }, (_, i) => i).filter((i) => repeatsAfter(i, every, first));
    expect(picked(10, false)).toEqual([5, 15, 25]);
    expect(picked(10, true)).toEqual([0, 5, 15, 25]);
    expect(picked(0, true)).toEqual([]);
  });
});

describe('hot-room publisher slots', () => {
  /**
   * Drives slots at 100 ms ticks (`ticks` says which ticks fire): `busy(ms)` whether the previous message still
   * awaits its answer, `held(ms)` whether the socket is down or only the suite's repeat is in flight (not counted).
   */
  function drive(count: number, busy: (ms: number) => boolean, held: (ms: number) => boolean = () => false, ticks: (ms: number) => boolean = () => true) {
    const slots = new PublisherSlots(0, 1000, count);
    const sent: number[] = [];
    const skipped: number[] = [];
    for (let now = 0; now <= (count + 1) * 1000; now += 100) {
      if (!ticks(now)) continue;
      slots.pass(now, (at) => skipped.push(at));
      if (!slots.due(now) || held(now)) continue;
      if (busy(now)) slots.waited();
      else sent.push(slots.sent());
    }
    return { sent, skipped };
  }

  it('one message per slot; a late one still counts for its slot; a window passed while waiting is skipped', () => {
    expect(drive(5, () => false)).toEqual({ sent: [0, 1000, 2000, 3000, 4000], skipped: [] });
    // waiting for an answer from 1.0 s to 2.5 s: slot 1's window passes (skipped), slot 2's message starts late
    // at 2.5 s and counts for slot 2, slots 3 and 4 on time
    expect(drive(5, (ms) => ms >= 1000 && ms < 2500)).toEqual({ sent: [0, 2000, 3000, 4000], skipped: [1000] });
    // never answered after the first: every other slot skipped, at its own time
    expect(drive(4, (ms) => ms > 0)).toEqual({ sent: [0], skipped: [1000, 2000, 3000] });
  });

  it('not counted: a window passed while the socket was down or only the repeat in flight, or one no tick visited', () => {
    expect(drive(4, (ms) => ms > 0 && ms < 1500, (ms) => ms >= 1500)).toEqual({ sent: [0], skipped: [1000] });
    // the generator stalled from 1.0 s to 2.1 s (no tick): slot 1 is not the target's doing
    expect(drive(3, () => false, () => false, (ms) => ms < 1000 || ms > 2100)).toEqual({ sent: [0, 2000], skipped: [] });
  });
});
