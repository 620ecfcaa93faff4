/**
 * The message integrity check (Jepsen style: the k6 scenarios are the generator, chaos the nemesis, this the
 * checker). After the load: the history from k6's raw output (one or several files, e.g. a split run's), every
 * room it used read back through the public API until complete or shown unverifiable (completeness.ts), the
 * classification (classify.ts), the 95 % upper bounds (bound.ts), `integrity.json`, the thresholds as
 * ThresholdResults (they join the verdict, summary.json, the human summary and junit.xml through finishRun's
 * `extraThresholds`), and a short table (report.ts).
 */
import { join } from 'node:path';
import { writeJson } from '../runner/run-dir.js';
import type { TargetFile } from '../runner/target-file.js';
import type { IntegrityTargets } from '../lib/profiles.js';
import { classify, type Classification } from './classify.js';
import { readBackComplete, type Completeness } from './completeness.js';
import { readHistory, type History } from './history.js';
import { DEFAULT_PAGE_SIZE, login, readRooms } from './readback.js';
import { DEFAULT_SETTLE_MS, type IntegrityOptions } from './options.js';
import { buildReport, type IntegrityReport } from './report.js';

export { classify, COUNT_KEYS, type Classification, type StoredMessage } from './classify.js';
export { addRecord, emptyHistory, readHistory, type History } from './history.js';
export { integrityOptionsFromEnv, type IntegrityOptions } from './options.js';
export { buildReport, formatIntegrity, integrityThresholds, type IntegrityReport } from './report.js';
export { MAX_EXAMPLES } from './classify.js';

export const INTEGRITY_FILE = 'integrity.json';

export interface IntegrityInput extends Partial<IntegrityOptions> {
  /** k6 raw output files (`--out json`, .gz or not) of the run: one per k6 process. */
  rawFiles: readonly string[];
  target: TargetFile;
  /** The profile's integrity targets (lib/profiles.ts); default: no rate targets, no reordering. */
  profileTargets?: IntegrityTargets;
  /** Where to write integrity.json (omit to not write it). */
  runDir?: string;
  runId?: string;
  log?: (line: string) => void;
}

/** Per room, the markers the history saw acknowledged there. */
export function acknowledgedByRoom(history: History): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of history.sends.values()) {
    if (!s.room || !s.attempts.some((a) => a.outcome === 'acked')) continue;
    (out.get(s.room) ?? out.set(s.room, new Set()).get(s.room)!).add(s.marker);
  }
  return out;
}

export function roomsOf(history: History): string[] {
  const rooms = new Set<string>();
  for (const s of history.sends.values()) if (s.room) rooms.add(s.room);
  for (const s of history.sockets.values()) if (s.room) rooms.add(s.room);
  return [...rooms];
}

/** Reads the history, reads back every room until complete (or unverified), classifies, writes integrity.json. */
export async function checkIntegrity(input: IntegrityInput): Promise<IntegrityReport> {
  const history = await readHistory(input.rawFiles);
  const rooms = roomsOf(history);
  const settleMs = input.settleMs ?? DEFAULT_SETTLE_MS;
  let back: Completeness = { stored: [], rooms: [], unverifiedRooms: new Set(), late: new Map(), extraReads: 0 };
  if (rooms.length) {
    const token = await login(input.target);
    back = await readBackComplete(rooms, acknowledgedByRoom(history), (list, size) => readRooms(input.target, token, list, size), { settleMs, pageSize: DEFAULT_PAGE_SIZE });
    if (back.extraReads) input.log?.(`${back.rooms.length} room(s) missed acknowledged messages on the first read: ${back.extraReads} re-reads over up to ${settleMs} ms`);
  }
  const c: Classification = classify(history, back.stored, { ...(input.spanMs !== undefined ? { spanMs: input.spanMs } : {}), unverifiedRooms: back.unverifiedRooms, late: back.late });
  const report = buildReport(c, back, history, {
    options: { undeliveredLimit: input.undeliveredLimit ?? 0, spanMs: input.spanMs ?? 1000, settleMs, lateLimit: input.lateLimit, reorderedLimit: input.reorderedLimit, ...(input.targets ? { targets: input.targets } : {}) },
    profileTargets: input.profileTargets,
    rooms: rooms.length,
    rawFiles: input.rawFiles.length,
    pageSize: DEFAULT_PAGE_SIZE,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
  });
  if (input.runDir) await writeJson(join(input.runDir, INTEGRITY_FILE), report);
  return report;
}
