/**
 * The bad-request storm's own answers (lib/storm.ts counts each in `storm_answers`): per kind, how many were
 * refused as the contract asks (4xx, or an error frame), answered 5xx, accepted (2xx, a socket to a foreign room
 * that opened) or not answered at all. Reported in summary.json (`storm`), the printout and the drill's printout;
 * not judged: the verdict is the valid traffic's SLO (storm.<service>.error_rate and the rest).
 */
import { z } from 'zod';
import { forEachPoint } from './raw.js';

const Counts = z.object({ sent: z.number().int(), refused: z.number().int(), server_error: z.number().int(), accepted: z.number().int(), none: z.number().int() });
export const StormSection = z.object({ total: Counts, byKind: z.record(z.string(), Counts) });
export type StormSection = z.infer<typeof StormSection>;
type Counts = z.infer<typeof Counts>;

const zero = (): Counts => ({ sent: 0, refused: 0, server_error: 0, accepted: 0, none: 0 });

/** Folds storm answers (kind, answer) into the section; undefined when the storm sent nothing. Pure. */
export function stormSectionOf(answers: Iterable<{ kind: string; answer: string }>): StormSection | undefined {
  const total = zero();
  const byKind: Record<string, Counts> = {};
  for (const a of answers) {
    const k = (byKind[a.kind] ??= zero());
    for (const c of [total, k]) {
      c.sent += 1;
      if (a.answer === 'refused' || a.answer === 'server_error' || a.answer === 'accepted' || a.answer === 'none') c[a.answer] += 1;
    }
  }
  return total.sent ? { total, byKind } : undefined;
}

/** Reads the storm's answers from k6's raw output. */
export async function readStormSection(rawPath: string): Promise<StormSection | undefined> {
  const answers: { kind: string; answer: string }[] = [];
  await forEachPoint(rawPath, (p) => {
    for (let i = 0; i < p.value; i++) answers.push({ kind: p.tags.kind ?? 'unknown', answer: p.tags.answer ?? 'unknown' });
  }, new Set(['storm_answers']));
  return stormSectionOf(answers);
}

const line = (c: Counts) => `${c.sent} sent: ${c.refused} refused (4xx / error frame, as expected), ${c.server_error} answered 5xx, ${c.accepted} accepted, ${c.none} unanswered`;

/** The printout's storm lines. */
export function formatStorm(s: StormSection | undefined): string[] {
  if (!s) return [];
  return [`storm: ${line(s.total)} (not counted in the valid traffic's thresholds)`, ...Object.entries(s.byKind).map(([k, c]) => `  storm ${k}: ${line(c)}`)];
}
