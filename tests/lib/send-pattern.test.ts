/**
 * The ws part's send pattern (lib/send-pattern.ts): bursts and the idempotency repeat schedule.
 */
import { describe, expect, it } from 'vitest';
import { Burst, burstStarts, repeatsAfter } from '../../lib/send-pattern.js';

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
