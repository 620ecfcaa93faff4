/**
 * The results file `npm run bench` writes (default bench/results.json) and `npm run load -- plan --bench` reads
 * (`capacity`). zod schema: the bench validates what it writes, the plan what it reads.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const nonNeg = z.number().nonnegative();
const count = z.number().int().nonnegative();

export const RestRun = z.object({
  tool: z.enum(['suite', 'hand', 'raw-k6', 'wrk']),
  requests: count,
  requestsPerS: nonNeg,
  /** suite and hand: REST iterations (post + list, sometimes more: lib/rest-plan.ts) per second. */
  iterationsPerS: nonNeg.nullable(),
  /** the load tool's CPU during the load, in cores. */
  cpuCores: nonNeg,
  /** the endpoint's CPU during the load, in cores (near 1 = the endpoint, not the tool, was the limit). */
  endpointCpuCores: nonNeg,
  /** the endpoint used ENDPOINT_BOUND_CORES or more: it, not the tool, may have been the limit. */
  endpointBound: z.boolean(),
  /** cores the rest of the machine used meanwhile: other jobs, and kernel threads (e.g. writing k6's raw output). */
  otherCpuCores: nonNeg,
  /** share of requests that failed (k6: http_req_failed; wrk: non-2xx/3xx and socket errors). */
  failedRate: nonNeg,
});
export type RestRun = z.infer<typeof RestRun>;

export const RestResult = z.object({
  vus: z.number().int().positive(),
  durationS: z.number().positive(),
  suite: RestRun,
  /** the suite's requests written by hand with k6 defaults (capacity/k6/rest-hand.js). */
  hand: RestRun,
  rawK6: RestRun,
  wrk: RestRun.nullable(),
  /** why wrk did not run, when it did not. */
  wrkSkipped: z.string().optional(),
  ratios: z.object({ suiteToHand: nonNeg.nullable(), suiteToRawK6: nonNeg.nullable(), suiteToWrk: nonNeg.nullable() }),
});
export type RestResult = z.infer<typeof RestResult>;

export const SocketStep = z.object({
  sockets: z.number().int().positive(),
  vus: z.number().int().positive(),
  /** delivery p95 and count in the steady part (after the first send interval: every socket open). */
  deliveryP95Ms: nonNeg.nullable(),
  deliveries: count,
  /** delivery p95 over the whole session, the opening included (k6's summary). */
  deliveryP95WholeMs: nonNeg.nullable(),
  openFailed: count,
  closedEarly: count,
  echoTimeouts: count,
  k6PeakRssBytes: nonNeg,
  k6CpuCores: nonNeg,
  endpointCpuCores: nonNeg,
  /** the endpoint used ENDPOINT_BOUND_CORES or more: it, not the tool, may have been the limit. */
  endpointBound: z.boolean(),
  /** cores the rest of the machine (other jobs, kernel threads) used in the steady part. */
  otherCpuCores: nonNeg,
  memoryPerSocketBytes: nonNeg,
  cpuPerSocketMillicores: nonNeg,
  wallS: nonNeg,
  steady: z.boolean(),
  reasons: z.array(z.string()),
});
export type SocketStep = z.infer<typeof SocketStep>;

/** One tool's socket steps: the suite's scenario, the hand-written k6 script, or the minimal ws client. */
export const ToolSockets = z.object({
  tool: z.enum(['suite', 'hand', 'ws-client']),
  /** RSS of the same tool idle (k6 and its bundle with one sleeping VU; 0 for the ws client: not subtracted). */
  idleRssBytes: nonNeg,
  steps: z.array(SocketStep),
  maxSteadySockets: count,
  stoppedBecause: z.string(),
});
export type ToolSockets = z.infer<typeof ToolSockets>;

export const SocketsResult = z.object({
  profile: z.literal('stage3'),
  socketsPerVu: z.number().int().positive(),
  sendIntervalS: z.number().positive(),
  roomSize: z.number().int().positive(),
  sessionS: z.number().positive(),
  deliveryP95BoundMs: z.number().positive(),
  memoryCapBytes: z.number().positive(),
  timeCapS: z.number().positive(),
  /** the suite's figures (the capacity the plan reads). */
  idleRssBytes: nonNeg,
  steps: z.array(SocketStep),
  maxSteadySockets: count,
  stoppedBecause: z.string(),
  /** the same socket work by hand with k6 defaults (capacity/k6/ws-hand.js), and by a minimal ws client (capacity/ws-client.ts). */
  hand: ToolSockets,
  client: ToolSockets,
  ratios: z.object({ suiteToHand: nonNeg.nullable(), suiteToClient: nonNeg.nullable() }),
});
export type SocketsResult = z.infer<typeof SocketsResult>;

export const Capacity = z.object({
  socketsPerRunner: z.number().int().positive().nullable(),
  restIterationsPerS: z.number().int().positive().nullable(),
});

export const BenchResults = z.object({
  version: z.literal(1),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  k6: z.object({ version: z.string(), path: z.string() }),
  machine: z.object({
    cores: z.number().int().positive(),
    cpuModel: z.string(),
    memoryBytes: z.number().positive(),
    kernel: z.string(),
    node: z.string(),
    loadAverage1mAtStart: nonNeg,
  }),
  options: z.object({ durationS: z.number().positive(), maxSockets: z.number().int().positive(), parts: z.array(z.enum(['rest', 'sockets'])) }),
  rest: RestResult.optional(),
  sockets: SocketsResult.optional(),
  /** what `npm run load -- plan --bench` uses; null = not measured (the plan keeps its default). */
  capacity: Capacity,
  /** stage3 (100,000 users) planned with this capacity (defaults filling what was not measured). */
  runnersPer100k: z.object({ profile: z.literal('stage3'), runners: z.number().int().positive(), socketsPerRunner: z.number().positive(), restIterationsPerS: z.number().positive(), source: z.string() }),
  notes: z.array(z.string()),
});
export type BenchResults = z.infer<typeof BenchResults>;

/** The `capacity` of a bench results file; undefined when the file is missing. Throws on a malformed file. */
export function readBenchCapacity(file: string): z.infer<typeof Capacity> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const r = z.object({ capacity: Capacity }).safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${file}: no valid capacity {socketsPerRunner, restIterationsPerS}: ${r.error.issues[0]?.message}`);
  return r.data.capacity;
}
