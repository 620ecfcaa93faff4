// The hot room's offered load in summary.json and the printout (runner/hot-room-section.ts), from k6's summary data.
import { describe, expect, it } from 'vitest';
import { formatHotRoom, hotRoomSectionOf, mergeHotRoomSections } from '../../runner/hot-room-section.js';

describe('hot-room section', () => {
  it('counts sent and skipped slots from hot_room_sends_skipped (passes = skipped); no slots, no section', () => {
    const s = hotRoomSectionOf({ metrics: { hot_room_sends_skipped: { type: 'rate', values: { rate: 0.1, passes: 3, fails: 27 } } } });
    expect(s).toEqual({ scheduled: 30, sent: 27, skipped: 3 });
    expect(formatHotRoom(s)).toEqual(["hot room: the publishers sent 27 of 30 scheduled messages; 3 slots passed while the publisher awaited the previous message's answer (the fan-out figures rest on the 27 sent)"]);
    expect(formatHotRoom(hotRoomSectionOf({ metrics: { hot_room_sends_skipped: { type: 'rate', values: { rate: 0, passes: 0, fails: 30 } } } }))).toEqual(['hot room: the publishers sent 30 of 30 scheduled messages']);
    expect(hotRoomSectionOf({ metrics: {} })).toBeUndefined();
    expect(formatHotRoom(undefined)).toEqual([]);
  });

  it('a split run adds its parts\' slots; parts without slots add nothing; no part with slots, no section', () => {
    expect(mergeHotRoomSections([{ scheduled: 30, sent: 27, skipped: 3 }, undefined, { scheduled: 29, sent: 29, skipped: 0 }])).toEqual({ scheduled: 59, sent: 56, skipped: 3 });
    expect(mergeHotRoomSections([undefined, undefined])).toBeUndefined();
    expect(mergeHotRoomSections([])).toBeUndefined();
  });
});
