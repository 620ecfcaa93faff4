/**
 * The hot room's offered load: how many of its publishers' scheduled messages went out (lib/send-pattern.ts
 * PublisherSlots, counted in `hot_room_sends_skipped`). A slot whose window passed while its publisher still waited
 * for the previous message's answer is skipped: a slow target lowers the offered load, and the hot room's fan-out
 * figures rest on the messages sent, not the ones planned. Read from k6's summary data; shown in summary.json
 * (`hotRoom`) and the printout; reported, not judged.
 */
import { z } from 'zod';
import type { K6SummaryData } from './summary.js';

export const HotRoomSection = z.object({
  /** Scheduled slots counted (the socket open, not held by the suite's own repeat). */
  scheduled: z.number().int().nonnegative(),
  sent: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
});
export type HotRoomSection = z.infer<typeof HotRoomSection>;

/** The section from k6's summary data; undefined when the run had no hot-room publisher slots. */
export function hotRoomSectionOf(data: Pick<K6SummaryData, 'metrics'>): HotRoomSection | undefined {
  const v = data.metrics.hot_room_sends_skipped?.values;
  const skipped = v?.passes ?? 0;
  const sent = v?.fails ?? 0;
  if (skipped + sent === 0) return undefined;
  return { scheduled: skipped + sent, sent, skipped };
}

/** A split run's section: the parts' counts added (each part's publishers keep their own schedule); undefined when no part had slots. */
export function mergeHotRoomSections(parts: readonly (HotRoomSection | undefined)[]): HotRoomSection | undefined {
  const present = parts.filter((s): s is HotRoomSection => s !== undefined);
  if (present.length === 0) return undefined;
  const sum = (k: keyof HotRoomSection) => present.reduce((n, s) => n + s[k], 0);
  return { scheduled: sum('scheduled'), sent: sum('sent'), skipped: sum('skipped') };
}

/** The printout's hot-room line. */
export function formatHotRoom(s: HotRoomSection | undefined): string[] {
  if (!s) return [];
  const why = s.skipped > 0 ? `; ${s.skipped} slots passed while the publisher awaited the previous message's answer (the fan-out figures rest on the ${s.sent} sent)` : '';
  return [`hot room: the publishers sent ${s.sent} of ${s.scheduled} scheduled messages${why}`];
}
