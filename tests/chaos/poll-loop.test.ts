// The watchers' one poll loop (chaos/drill/poll-loop.ts): changes only in the timeline, a hanging probe skipped
// (never polled twice at once) while the others go on, closed timelines on stop. ~0.5 s.
import { describe, expect, it } from 'vitest';
import { PollLoop, probeOf } from '../../chaos/drill/poll-loop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PollLoop', () => {
  it('records changes per probe; a probe still waiting for its answer is not polled again', async () => {
    const fast = probeOf('fast', 'x://fast');
    const hung = probeOf('hung', 'x://hung');
    let fastCalls = 0;
    let hungCalls = 0;
    let release: (ok: boolean) => void = () => undefined;
    const loop = new PollLoop([fast, hung], 20, (p) => {
      if (p === hung) {
        hungCalls += 1;
        return new Promise<boolean>((r) => (release = r));
      }
      fastCalls += 1;
      return Promise.resolve(fastCalls < 5); // good, then bad from the 5th poll on
    });
    loop.start();
    await sleep(300);
    expect(fastCalls).toBeGreaterThan(8);
    expect(hungCalls).toBe(1);
    expect(fast.timeline.points.map((p) => p.ok)).toEqual([true, false]);
    release(false);
    await sleep(60);
    loop.stop();
    const calls = fastCalls;
    await sleep(60);
    expect(fastCalls).toBe(calls);
    expect(hungCalls).toBeGreaterThan(1);
    // closed with the last state
    expect(fast.timeline.points.map((p) => p.ok)).toEqual([true, false, false]);
    expect(hung.timeline.points.map((p) => p.ok)).toEqual([false, false]);
  });
});
