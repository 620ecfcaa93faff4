/**
 * Checks of a drill whose fault hits the data tier (issue 16), as Jepsen-style checkers over what the drill
 * recorded; PURE but for `readStoreAcks` (k6's raw output).
 *
 *   Redis      after Redis is back (heal; for `restart` the moment it was started again), fan-out resumes in
 *              EVERY room that was active before the fault: per room the time from "Redis back" to the first
 *              WebSocket store acknowledged after it (a WS sender's only acknowledgement is its own echo, which
 *              comes through the room's Redis channel, so an ack is a fan-out delivery). A room with no ack
 *              after Redis is back never resumed and fails the drill (`fanout_resume{…}`).
 *   PostgreSQL after PostgreSQL is back, every dbman node must answer /health/ready 200 AND serve a read
 *              (the drill's serving watcher, chaos/drill/serving.ts: "ready is not serving", contract), and
 *              a message store must succeed again; the longest of these is the recovery time, judged against
 *              the owners' recovery SLO (5 minutes; `pg_recovery_time{…}`). The integrity check (every message
 *              acknowledged before the outage still stored, 0 lost) runs after the load as in every drill.
 *
 * What they can miss: "active" means a WS store was acknowledged in the `lookbackS` before the fault; a room
 * with no WebSocket traffic then (REST only) is not judged, and the figures say how many rooms were. The first
 * ack after Redis is back waits for the client's next send: a send lost in the gap waits its ack timeout (10 s).
 */
import { forEachPoint } from '../runner/raw.js';
import { firstAtOrAfter, type StatePoint } from './drill/timeline.js';

/** One acknowledged store: its room, transport and when it was acknowledged (the sample time). */
export interface StoreAck {
  room: string;
  transport: string;
  at: number;
}

/** Every acknowledged store of the run (message_store_success 1 with its history metadata). */
export async function readStoreAcks(rawPath: string): Promise<StoreAck[]> {
  const out: StoreAck[] = [];
  await forEachPoint(
    rawPath,
    (p) => {
      const room = p.metadata?.room;
      if (p.value > 0 && typeof room === 'string' && p.metadata?.outcome === 'acked') out.push({ room, transport: p.tags.transport ?? '', at: Date.parse(p.time) });
    },
    new Set(['message_store_success']),
  );
  return out;
}

export interface ResumeFigures {
  /** Epoch ms Redis counted as back. */
  backAt: number;
  /** Rooms with a WS store acknowledged in the lookback before the fault: the rooms judged. */
  roomsActiveBefore: number;
  /** Per judged room: seconds from Redis back to its first WS ack after it (null: never). */
  rooms: Record<string, number | null>;
  neverResumed: string[];
  resumeMaxS: number | null;
  lookbackS: number;
}

export function resumeFigures(acks: readonly StoreAck[], w: { injectAt: number; backAt: number; lookbackS?: number }): ResumeFigures {
  const lookbackS = w.lookbackS ?? 15;
  const ws = acks.filter((a) => a.transport === 'ws');
  const active = [...new Set(ws.filter((a) => a.at < w.injectAt && a.at >= w.injectAt - lookbackS * 1000).map((a) => a.room))].sort();
  const rooms: Record<string, number | null> = {};
  for (const room of active) {
    const first = ws.filter((a) => a.room === room && a.at >= w.backAt).reduce((m, a) => Math.min(m, a.at), Infinity);
    rooms[room] = Number.isFinite(first) ? Math.round((first - w.backAt) / 10) / 100 : null;
  }
  const neverResumed = active.filter((r) => rooms[r] === null);
  const times = Object.values(rooms).filter((v): v is number => v !== null);
  return { backAt: w.backAt, roomsActiveBefore: active.length, rooms, neverResumed, resumeMaxS: times.length && !neverResumed.length ? Math.max(...times) : null, lookbackS };
}

/** `fanout_resume{phase:recovery,fault,node}`: every active room resumed within maxResumeS; no room judged is a failure too. */
export function judgeResume(fault: string, node: string, r: ResumeFigures, maxResumeS: number): string[] {
  const who = `fanout_resume{phase:recovery,fault:${fault},node:${node}}`;
  if (r.roomsActiveBefore === 0) return [`${who}: every room resumed (observed no samples: no room had a WS store acknowledged in the ${r.lookbackS} s before the fault)`];
  if (r.neverResumed.length) {
    return [`${who}: every room resumed (observed ${r.neverResumed.length} of ${r.roomsActiveBefore} rooms never got a fan-out delivery after Redis was back: ${r.neverResumed.slice(0, 5).join(', ')})`];
  }
  if (r.resumeMaxS! > maxResumeS) return [`${who}: <=${maxResumeS}s (observed ${r.resumeMaxS}s in the slowest room)`];
  return [];
}

export interface PgRecoveryFigures {
  backAt: number;
  /** Per dbman node: seconds from PostgreSQL back to ready (null: never) and to serving a read (null: never). */
  nodes: Record<string, { readyS: number | null; servingS: number | null }>;
  /** Seconds from PostgreSQL back to the first message store acknowledged after it (any transport). */
  firstStoreS: number | null;
  /** The longest of every node ready, every node serving and the first store; null when one never happened. */
  recoveryS: number | null;
}

const secs = (t: number | null | undefined, from: number) => (t === null || t === undefined ? null : Math.max(0, Math.round((t - from) / 10) / 100));

export function pgRecoveryFigures(
  backAt: number,
  nodes: Record<string, { ready?: readonly StatePoint[]; serving?: readonly StatePoint[] }>,
  acks: readonly StoreAck[],
): PgRecoveryFigures {
  const out: PgRecoveryFigures['nodes'] = {};
  for (const [name, tl] of Object.entries(nodes)) {
    out[name] = {
      readyS: secs(tl.ready ? firstAtOrAfter(tl.ready, backAt, true) : null, backAt),
      servingS: secs(tl.serving ? firstAtOrAfter(tl.serving, backAt, true) : null, backAt),
    };
  }
  const first = acks.filter((a) => a.at >= backAt).reduce((m, a) => Math.min(m, a.at), Infinity);
  const firstStoreS = Number.isFinite(first) ? secs(first, backAt) : null;
  const all = [...Object.values(out).flatMap((n) => [n.readyS, n.servingS]), firstStoreS];
  return { backAt, nodes: out, firstStoreS, recoveryS: all.length && all.every((v) => v !== null) ? Math.max(...(all as number[])) : null };
}

/** `pg_recovery_time{phase:recovery,fault,node}` <= maxS (the owners' 5 minutes); a node never serving fails. */
export function judgePgRecovery(fault: string, node: string, r: PgRecoveryFigures, maxS: number): string[] {
  const who = `pg_recovery_time{phase:recovery,fault:${fault},node:${node}}`;
  if (Object.keys(r.nodes).length === 0) return [`${who}: <=${maxS}s (observed no samples: no dbman node watched)`];
  if (r.recoveryS === null) {
    const never = Object.entries(r.nodes).filter(([, n]) => n.readyS === null || n.servingS === null).map(([k, n]) => `${k} ${n.readyS === null ? 'never ready' : 'ready but never serving'}`);
    return [`${who}: <=${maxS}s (observed never: ${[...never, ...(r.firstStoreS === null ? ['no message store succeeded after'] : [])].join(', ')})`];
  }
  return r.recoveryS > maxS ? [`${who}: <=${maxS}s (observed ${r.recoveryS}s)`] : [];
}

/** Lines for the drill's printout, per data-tier fault. */
export function formatDataTier(f: { fault: string; node: string; resume?: ResumeFigures; pgRecovery?: PgRecoveryFigures }): string[] {
  const out: string[] = [];
  if (f.resume) {
    const r = f.resume;
    const times = Object.values(r.rooms).filter((v): v is number => v !== null).sort((a, b) => a - b);
    out.push(
      `  ${f.fault} ${f.node}: fan-out resumed in ${r.roomsActiveBefore - r.neverResumed.length} of ${r.roomsActiveBefore} rooms active before (WS acks in the ${r.lookbackS} s before)` +
        (times.length ? `, first delivery ${times[0]}-${times.at(-1)} s after Redis was back` : '') +
        (r.neverResumed.length ? `; NEVER in ${r.neverResumed.length}: ${r.neverResumed.slice(0, 3).join(', ')}` : ''),
    );
  }
  if (f.pgRecovery) {
    const p = f.pgRecovery;
    const nodes = Object.entries(p.nodes).map(([k, n]) => `${k} ready ${n.readyS ?? 'never'} s / serving ${n.servingS ?? 'never'} s`).join(', ');
    out.push(`  ${f.fault} ${f.node}: recovery ${p.recoveryS === null ? 'never' : `${p.recoveryS} s`} after PostgreSQL was back (${nodes}; first store ${p.firstStoreS ?? 'never'} s)`);
  }
  return out;
}
