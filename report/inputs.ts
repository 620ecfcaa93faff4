/**
 * Readers of the files in a run directory, each parsed once with zod. Every schema is loose (extra fields are
 * kept, most fields optional), so a report still renders when a part of the suite adds or drops a field; only
 * k6's raw output is required.
 *
 * - summary.json: the runner's RunSummary (runner/summary.ts), read loosely;
 * - drill.json: the drill's faults, figures and node readiness timelines (chaos/);
 * - integrity.json: the message integrity check's counts and examples.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SetupSection } from '../runner/setup-section.js';
import { COUNT_KEYS } from '../integrity/classify.js';

const num = z.number().nullable().optional();
const str = z.string().nullable().optional();

/** An ISO date text or epoch milliseconds → epoch ms; null when absent or unreadable. */
const Instant = z
  .union([z.string(), z.number()])
  .nullable()
  .optional()
  .transform((v) => {
    if (v === null || v === undefined) return null;
    const ms = typeof v === 'number' ? v : Date.parse(v);
    return Number.isFinite(ms) ? ms : null;
  });

export const SummaryThreshold = z.looseObject({
  name: z.string().optional(),
  metric: z.string(),
  baseMetric: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  expression: z.string(),
  limit: num,
  operator: str,
  observed: num,
  unit: str,
  samples: num,
  result: z.string(),
});
export type SummaryThreshold = z.infer<typeof SummaryThreshold>;

export const RunSummaryLoose = z.looseObject({
  runId: str,
  kind: str,
  profile: str,
  verdict: str,
  errors: z.array(z.string()).optional(),
  startedAt: str,
  finishedAt: str,
  loadStartedAt: str,
  k6Version: str,
  k6ExitCode: num,
  gitRevision: str,
  target: z
    .looseObject({
      name: str,
      chatUrl: str,
      authUrl: str,
      wsUrl: str,
      tenantId: str,
      reference: z.boolean().optional(),
      flaws: z.array(z.string()).optional(),
    })
    .optional(),
  thresholds: z.array(SummaryThreshold).optional(),
  setup: SetupSection.optional().catch(undefined),
  files: z.record(z.string(), z.string()).optional(),
});
export type RunSummaryLoose = z.infer<typeof RunSummaryLoose>;

/** One fault of a drill with its measured figures. Several spellings are accepted for the times. */
export const DrillFault = z
  .looseObject({
    fault: str,
    kind: str,
    node: str,
    injectedAt: Instant,
    healedAt: Instant,
    injectAt: Instant,
    healAt: Instant,
    failoverS: num,
    recoveryS: num,
    failoverMs: num,
    recoveryMs: num,
    nodeReadyAfterHealS: num,
    requestsDuringFault: num,
    failedDuringFault: num,
    firstErrorOffsetS: num,
    longestErrorBurst: z.looseObject({ seconds: num, failed: num }).nullable().optional(),
    /** db-cut (chaos/health-figures.ts): the node's readiness flip, liveness and the balancer's view. */
    dbCut: z
      .looseObject({ readyFlipS: num, liveStayedUp: z.boolean().nullable().optional(), readyBackS: num, balancerOutS: num, balancerBackS: num })
      .optional(),
    /** A fault on a chat instance (chaos/ws-figures.ts): the WS clients' reconnects. */
    ws: z.looseObject({ reconnects: num, reconnectP50Ms: num, reconnectP95Ms: num, reconnectMaxMs: num, missedMessages: num }).optional(),
    /** dbman node faults (chaos/drill/serving.ts): ready AND serving after heal, ready-but-failing spans. */
    servingAfterHealS: num,
    readyButFailing: z.array(z.looseObject({ start: z.string(), seconds: z.number() })).optional(),
    readyButFailingAfterHealS: num,
    /** chaos/relapses.ts: the SLO held, then broke again before heal. */
    relapses: z.array(z.looseObject({ startOffsetS: z.number(), seconds: z.number() })).optional(),
    /** Per service between inject and heal (chaos/service-figures.ts): errors, p95 and max, longest error burst, failover. */
    services: z
      .record(
        z.string(),
        z.looseObject({
          requests: z.number(),
          failed: z.number(),
          errorRate: num,
          p95Ms: num,
          maxMs: num,
          longestErrorBurst: z.looseObject({ seconds: num, failed: num }).nullable().optional(),
          failoverS: num,
          note: str,
        }),
      )
      .optional(),
    error: str,
  })
  .transform((f) => ({
    ...f,
    label: [f.fault ?? f.kind ?? 'fault', f.node].filter(Boolean).join(' '),
    inject: f.injectedAt ?? f.injectAt,
    heal: f.healedAt ?? f.healAt,
    failover: f.failoverS ?? (typeof f.failoverMs === 'number' ? f.failoverMs / 1000 : null),
    recovery: f.recoveryS ?? (typeof f.recoveryMs === 'number' ? f.recoveryMs / 1000 : null),
  }));
export type DrillFault = z.infer<typeof DrillFault>;

/** A readiness sample of one node: at `t`, ready or not. */
export const ReadinessPoint = z
  .looseObject({ t: Instant, at: Instant, ready: z.boolean() })
  .transform((p) => ({ t: p.t ?? p.at, ready: p.ready }));

export const DrillFile = z.looseObject({
  faults: z.array(DrillFault).default([]),
  /** Node name → readiness changes (or samples) over time. */
  readiness: z.record(z.string(), z.array(ReadinessPoint)).optional(),
  /** Per service and phase, and the outages (every request of one service failing) with their inferred cause. */
  services: z
    .looseObject({
      byPhase: z.record(z.string(), z.record(z.string(), z.looseObject({ requests: z.number(), failed: z.number(), errorRate: num, p95Ms: num }))),
      outages: z.array(z.looseObject({ service: z.string(), start: z.string(), seconds: z.number(), failed: z.number(), inference: z.string() })),
    })
    .optional()
    .catch(undefined),
});
export type DrillFile = z.infer<typeof DrillFile>;

/** The integrity check's count keys (integrity/classify.ts), in its order. */
export const INTEGRITY_KEYS = COUNT_KEYS;
const Count = z.number().int().nonnegative().optional();
const COUNTS = Object.fromEntries(INTEGRITY_KEYS.map((k) => [k, Count])) as Record<(typeof INTEGRITY_KEYS)[number], typeof Count>;
const IntegrityBound = z.looseObject({ events: z.number(), judged: z.number(), upper95: z.number(), target: z.number().optional(), needed: z.number().nullable().optional() });
/** integrity.json: the counts at the top level (issue 6's keys) or under `counts`; bounds, rooms and details when present; examples shown raw. */
export const IntegrityFile = z.looseObject({
  ...COUNTS,
  counts: z.looseObject(COUNTS).optional(),
  verdict: str,
  bounds: z.record(z.string(), IntegrityBound).optional(),
  rooms: z.array(z.looseObject({ room: z.string(), expected: z.number(), readDefault: z.number(), readAny: z.number(), pageSize: z.number(), status: z.string(), reason: z.string().optional() })).optional(),
  details: z
    .looseObject({
      lateLagMs: z.looseObject({ max: z.number(), median: z.number() }).nullable().optional(),
      readAfterWrite: z.looseObject({ judged: z.number(), missed: z.number() }).optional(),
      deliveriesJudged: z.number().optional(),
      socketsJudged: z.number().optional(),
      repeatsJudged: z.number().optional(),
    })
    .optional(),
  examples: z.unknown().optional(),
});
export type IntegrityFile = z.infer<typeof IntegrityFile>;

/** Integrity counts whether they sit at the top level or under `counts`. */
export function integrityCounts(f: IntegrityFile): Record<(typeof INTEGRITY_KEYS)[number], number | null> {
  const out = {} as Record<(typeof INTEGRITY_KEYS)[number], number | null>;
  for (const k of INTEGRITY_KEYS) out[k] = f.counts?.[k] ?? f[k] ?? null;
  return out;
}

/** A file the run directory may lack; a present but malformed file is an error naming the file. */
function readOptional<T extends z.ZodType>(path: string, schema: T): z.infer<T> | null {
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: not JSON (${(err as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new InputError(`${path}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
  }
  return r.data;
}

export class InputError extends Error {}

export const RAW_NAMES = ['k6-raw.json.gz', 'k6-raw.json', 'k6-raw.jsonl', 'raw.json'];

export interface RunInputs {
  dir: string;
  rawPath: string;
  summary: RunSummaryLoose | null;
  drill: DrillFile | null;
  integrity: IntegrityFile | null;
}

/** Finds and parses a run directory's files. Throws InputError when the raw output is missing or a file is malformed. */
export function readRunInputs(dir: string): RunInputs {
  if (!existsSync(dir)) throw new InputError(`run directory not found: ${dir}`);
  const summary = readOptional(join(dir, 'summary.json'), RunSummaryLoose);
  const named = summary?.files?.['raw'] ?? summary?.files?.['k6Raw'];
  const candidates = [...(named ? [named] : []), ...RAW_NAMES];
  const raw = candidates.map((n) => join(dir, n)).find((p) => existsSync(p));
  if (!raw) throw new InputError(`${dir}: no k6 raw output (looked for ${candidates.join(', ')})`);
  return {
    dir,
    rawPath: raw,
    summary,
    drill: readOptional(join(dir, 'drill.json'), DrillFile),
    integrity: readOptional(join(dir, 'integrity.json'), IntegrityFile),
  };
}
