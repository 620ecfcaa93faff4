/**
 * The bad-request storm's own answers (lib/storm.ts counts each in `storm_answers`): per kind, how many were
 * refused as the contract asks (4xx, or an error frame), answered 5xx, accepted (2xx, a socket to a foreign room
 * that opened) or not answered at all. Reported in summary.json (`storm`), the printout and the drill's printout;
 * not judged: the verdict is the valid traffic's SLO (storm.<service>.error_rate and the rest). The not_member
 * requests are also counted by the room they name (`notMemberByRoom`): an existing room their sender is not in,
 * or one that does not exist; a storm that named no existing room says so, as a server that only refuses rooms
 * that do not exist passes it.
 */
import { z } from 'zod';
import { forEachPoint } from './raw.js';

const Counts = z.object({ sent: z.number().int(), refused: z.number().int(), server_error: z.number().int(), accepted: z.number().int(), none: z.number().int() });
export const StormSection = z.object({ total: Counts, byKind: z.record(z.string(), Counts), notMemberByRoom: z.object({ existing: Counts, missing: Counts }).optional() });
export type StormSection = z.infer<typeof StormSection>;
type Counts = z.infer<typeof Counts>;

const zero = (): Counts => ({ sent: 0, refused: 0, server_error: 0, accepted: 0, none: 0 });

function count(c: Counts, answer: string): void {
  c.sent += 1;
  if (answer === 'refused' || answer === 'server_error' || answer === 'accepted' || answer === 'none') c[answer] += 1;
}

/** Folds storm answers (kind, answer, the room a not_member request named) into the section; undefined when the storm sent nothing. Pure. */
export function stormSectionOf(answers: Iterable<{ kind: string; answer: string; room?: string }>): StormSection | undefined {
  const total = zero();
  const byKind: Record<string, Counts> = {};
  const byRoom = { existing: zero(), missing: zero() };
  for (const a of answers) {
    count(total, a.answer);
    count((byKind[a.kind] ??= zero()), a.answer);
    if (a.kind === 'not_member') count(a.room === 'existing' ? byRoom.existing : byRoom.missing, a.answer);
  }
  if (!total.sent) return undefined;
  return byKind.not_member ? { total, byKind, notMemberByRoom: byRoom } : { total, byKind };
}

/** Reads the storm's answers from k6's raw output. */
export async function readStormSection(rawPath: string): Promise<StormSection | undefined> {
  const answers: { kind: string; answer: string }[] = [];
  await forEachPoint(rawPath, (p) => {
    for (let i = 0; i < p.value; i++) answers.push({ kind: p.tags.kind ?? 'unknown', answer: p.tags.answer ?? 'unknown', ...(p.tags.room ? { room: p.tags.room } : {}) });
  }, new Set(['storm_answers']));
  return stormSectionOf(answers);
}

const line = (c: Counts) => `${c.sent} sent: ${c.refused} refused (4xx / error frame, as expected), ${c.server_error} answered 5xx, ${c.accepted} accepted, ${c.none} unanswered`;

/** The printout's storm lines. */
export function formatStorm(s: StormSection | undefined): string[] {
  if (!s) return [];
  const out = [`storm: ${line(s.total)} (not counted in the valid traffic's thresholds)`];
  for (const [k, c] of Object.entries(s.byKind)) {
    out.push(`  storm ${k}: ${line(c)}`);
    if (k !== 'not_member' || !s.notMemberByRoom) continue;
    const { existing, missing } = s.notMemberByRoom;
    if (existing.sent > 0) out.push(`    to an existing room the sender is not in: ${line(existing)}`, `    to rooms that do not exist: ${line(missing)}`);
    else out.push('    only rooms that do not exist were named (no user besides the admin, or setup could not make the foreign room): a server that lets any user into an existing room passes this');
  }
  return out;
}
