/**
 * Pids of processes a heal (or a restart fault) started again, kept in the suite's own state, never in the target
 * file the user gave: `<ledger folder>/chaos-pids.json` (default `.state/chaos-pids.json`), keyed by the target
 * file's absolute path and the node's name. The drill and `npm run chaos -- inject` read the target file and then
 * lay these pids over its `faults.pid` (only while that process still runs, with the start time it had), so a
 * later fault reaches the node that runs now. `npm run stack -- down` does not need them: it finds a restarted
 * reference process by its TARGET_STACK_ID marker.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { TargetFile } from '../runner/target-file.js';
import { readStat } from './drivers/proc.js';

const Entry = z.object({ pid: z.number().int().positive(), startTime: z.number().optional(), at: z.number(), runId: z.string().optional() });
const StateDoc = z.object({ version: z.literal(1), targets: z.record(z.string(), z.record(z.string(), Entry)) });
type StateDoc = z.infer<typeof StateDoc>;
export type PidEntry = z.infer<typeof Entry>;

export const PID_STATE_FILE = 'chaos-pids.json';

/** The pid state beside a ledger file. */
export function pidStatePathFor(ledgerPath: string): string {
  return join(dirname(resolve(ledgerPath)), PID_STATE_FILE);
}

export class PidState {
  constructor(readonly path: string) {}

  private read(): StateDoc {
    if (!existsSync(this.path)) return { version: 1, targets: {} };
    try {
      const r = StateDoc.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      return r.success ? r.data : { version: 1, targets: {} };
    } catch {
      return { version: 1, targets: {} };
    }
  }

  /** Records the pid a node of `targetPath` runs as now (atomic write: temp file + rename). */
  record(targetPath: string, node: string, pid: number, runId?: string): void {
    const doc = this.read();
    const key = resolve(targetPath);
    const entry: PidEntry = { pid, at: Date.now(), ...(readStat(pid)?.startTime !== undefined ? { startTime: readStat(pid)!.startTime } : {}), ...(runId ? { runId } : {}) };
    doc.targets[key] = { ...(doc.targets[key] ?? {}), [node]: entry };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
    renameSync(tmp, this.path);
  }

  /** Node → recorded pid for a target file, only for processes that still run with the recorded start time. */
  live(targetPath: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [node, e] of Object.entries(this.read().targets[resolve(targetPath)] ?? {})) {
      const st = readStat(e.pid);
      if (st && st.state !== 'Z' && (e.startTime === undefined || st.startTime === e.startTime)) out[node] = e.pid;
    }
    return out;
  }
}

/** The target with the live recorded pids laid over its components' `faults.pid` (a copy; the file is not touched). */
export function withRecordedPids(t: TargetFile, pids: Record<string, number>): TargetFile {
  if (Object.keys(pids).length === 0) return t;
  const over = <C extends { name: string; faults: { pid?: number } }>(c: C): C => (pids[c.name] !== undefined && c.faults.pid !== undefined ? { ...c, faults: { ...c.faults, pid: pids[c.name]! } } : c);
  return {
    ...t,
    dbmanNodes: t.dbmanNodes.map(over),
    chatInstances: t.chatInstances.map(over),
    ...(t.orghub ? { orghub: over(t.orghub) } : {}),
    // (a target built by hand may lack the lists the schema defaults)
    ...(t.sessionInstances ? { sessionInstances: t.sessionInstances.map(over) } : {}),
    ...(t.tenanthubInstances ? { tenanthubInstances: t.tenanthubInstances.map(over) } : {}),
  };
}
