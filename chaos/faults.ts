/**
 * Fault vocabulary shared by the drivers (the nemesis), the drill (which schedules faults beside the k6 load,
 * the generator) and the figures (the checker). Parsed once with zod at the edge (CLI flags, drill files).
 *
 * Every fault is a pair inject + heal (Chaos Toolkit's "method" + "rollback"); heal is idempotent and can run
 * in another process from the ledger entry alone, so `npm run chaos -- heal` can undo what a killed drill left.
 */
import { z } from 'zod';
import { parseDurationS as parseDuration } from '../lib/duration.js';

/** Faults on a local process, by signal. */
export const PROCESS_FAULTS = ['stop', 'kill', 'pause', 'restart'] as const;
/** Network faults through a Toxiproxy proxy in front of the node. */
export const NETWORK_FAULTS = ['partition', 'latency', 'reset', 'bandwidth'] as const;
/** Faults on a dbman node's own link to its database (`faults.dbLink`): the node runs on, the database is gone. */
export const DB_LINK_FAULTS = ['db-cut'] as const;
export const FAULT_KINDS = [...PROCESS_FAULTS, ...NETWORK_FAULTS, ...DB_LINK_FAULTS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Parses a duration into seconds with the suite's one grammar (lib/duration.ts: "20s", "1500ms", "2m", "1m30s",
 * "1h", or plain seconds), the same for every CLI, drill file and environment variable.
 */
export function parseDurationS(text: string | number): number {
  if (typeof text === 'number') return text;
  const s = parseDuration(text);
  if (s === undefined) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 20s, 1500ms, 2m, 1m30s, 1h or plain seconds)`);
  return s;
}

export const Duration = z
  .union([z.number().nonnegative(), z.string()])
  .transform((v, ctx) => {
    try {
      return parseDurationS(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** Knobs of the network faults; defaults chosen to hurt but not to kill (latency below the 5 s client timeout). */
export const FaultParams = z
  .object({
    /** latency: added delay per direction, ms. */
    latencyMs: z.number().int().nonnegative().default(1000),
    /** latency: +/- jitter, ms. */
    jitterMs: z.number().int().nonnegative().default(200),
    /** bandwidth: KB/s. */
    rateKBps: z.number().int().positive().default(16),
    /**
     * Network faults: which direction of the proxy ("upstream" = client to node, "downstream" = node to client).
     * Unset: upstream for partition and reset (requests never get through / are reset), downstream otherwise.
     */
    stream: z.enum(['upstream', 'downstream']).optional(),
    /** stop/kill/restart: how long to wait for the process to exit before giving up (ms). */
    exitWaitMs: z.number().int().positive().default(10_000),
  })
  .strict();
export type FaultParams = z.infer<typeof FaultParams>;

/** One scheduled fault: what, on which node, when (seconds after load start), for how long. */
export const FaultStep = z
  .object({
    fault: z.enum(FAULT_KINDS),
    node: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a node name like dbman-1'),
    at: Duration.default(20),
    for: Duration.default(20),
    params: FaultParams.default(FaultParams.parse({})),
  })
  .strict();
export type FaultStep = z.infer<typeof FaultStep>;

/** [startS, endS] windows after load start, as k6 reads them from FAULT_WINDOWS. */
export function faultWindows(steps: readonly FaultStep[]): [number, number][] {
  return steps.map((s) => [s.at, s.at + s.for] as [number, number]).sort((a, b) => a[0] - b[0]);
}
