/**
 * What a drill is: a profile, a load duration, a schedule of faults, and the SLO the failover figures use.
 * Built from CLI flags or from a drill file (JSON or YAML), parsed once here with zod; every error is one line
 * naming the setting (`--at`, `faults.1.node`, ...) and what is allowed.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PROFILE_NAMES } from '../../lib/profiles.js';
import { STORM_KINDS } from '../../lib/storm-plan.js';
import { UsageError, parseOrUsage } from '../cli/args.js';
import { SLOW_PATH_NODE } from '../slow-path.js';
import { Duration, FAULT_KINDS, FaultParams, FaultStep, NETWORK_FAULTS, parseDurationS, type FaultKind } from '../faults.js';
import { DEFAULT_FOR_S } from './fault-window.js';

/** A drill's fault: `for` may be left out (then the drill sizes it from the client settings, chaos/drill/fault-window.ts). */
const DrillFaultStep = FaultStep.extend({ for: Duration.optional() });

export const DrillSlo = z
  .object({
    /** Highest error rate of one second for it to count as good (0..1). */
    errorRate: z.number().min(0).max(1).default(0.01),
    /** Highest p95 (ms) of one second for it to count as good. */
    p95Ms: z.number().positive().default(500),
    /** Good seconds in a row that make failover (or recovery) done. */
    holdS: z.number().int().min(1).max(60).default(3),
    /** Drill threshold, fault phase: failover must be done (SLO held holdS s) within this many seconds of inject. */
    maxFailoverS: z.number().positive().default(5),
    /** Drill threshold, recovery phase: the healed node ready and the SLO held within this many seconds of heal. */
    maxRecoveryS: z.number().positive().default(15),
    /**
     * Drill threshold, db-cut: the node's /health/ready must turn not-ready within this many seconds of inject.
     * Sized to the reference target's readiness check: one `SELECT 1` bounded by DBMAN_READY_TIMEOUT_MS (1 s),
     * plus the drill's 250 ms poll, plus room for a loaded 2-core machine.
     */
    maxReadyFlipS: z.number().positive().default(5),
    /** Drill threshold, faults on a chat instance: WS reconnect time (unplanned close → new socket open) p95, ms. */
    maxReconnectP95Ms: z.number().positive().default(5000),
    /** Drill threshold, faults that take Redis away: every room active before must get fan-out again within this many seconds of Redis back. */
    maxResumeS: z.number().positive().default(20),
    /** Drill threshold, faults on PostgreSQL: every dbman node ready and serving, and a store acknowledged, within this many seconds of it back (the owners' 5 minutes). */
    maxPgRecoveryS: z.number().positive().default(300),
    /** Drill threshold, faults on the primary of a Redis behind Sentinel: a majority of the sentinels names a new primary within this many seconds of inject. */
    maxPromotionS: z.number().positive().default(30),
    /**
     * Drill threshold, recovery phase: seconds a healed dbman node may answer /health/ready 200 while its serving
     * probe fails. One 250 ms poll of each apart, plus room for a loaded machine.
     */
    maxReadyButFailingS: z.number().nonnegative().default(1),
    /** Drill threshold, fault phase: relapses longer than maxRelapseS allowed per fault. */
    maxRelapses: z.number().int().nonnegative().default(0),
    /**
     * A relapse up to this long is not counted by maxRelapses: a client with a short timeout pays about one timeout
     * after each cooldown (the reference target's 1 s: one or two bad seconds); the real client's 5 s is the stall back.
     */
    maxRelapseS: z.number().nonnegative().default(2),
  })
  .strict();
export type DrillSlo = z.infer<typeof DrillSlo>;

/**
 * Slow consumers in the hot room (lib/slow-consumers.ts): `share` of each VU's subscribers connect through the
 * drill's slow path (chaos/slow-path.ts), throttled to `rateKBps` from `at` for `for`; the drill adds that
 * `bandwidth` fault on `ws-slow` to the schedule, so the span is the fault phase.
 */
export const SlowConsumersSpec = z
  .object({
    share: z.number().gt(0).lt(1).default(0.2),
    at: Duration,
    for: Duration,
    /** Throughput of the slow path during the span, KB/s (1: a phone that has all but stopped reading). */
    rateKBps: z.number().int().positive().default(1),
    /** Filler per hot-room message, bytes: the span must push more than the target buffers per socket (~4 MB on loopback). */
    padBytes: z.number().int().min(0).max(200_000).default(32_768),
    /** Hot-room send interval override, seconds. */
    sendIntervalS: z.number().min(0.05).max(60).optional(),
    fanoutP95Ms: z.number().positive().optional(),
    fanoutDeliveryMin: z.number().min(0).max(1).optional(),
    echoP95Ms: z.number().positive().optional(),
  })
  .strict();
export type SlowConsumersSpec = z.infer<typeof SlowConsumersSpec>;

/** The fault step a slow-consumer span adds to the schedule: a bandwidth toxic on the slow path. */
export function slowSpanStep(sc: SlowConsumersSpec): FaultStep {
  return FaultStep.parse({ fault: 'bandwidth', node: SLOW_PATH_NODE, at: sc.at, for: sc.for, params: { rateKBps: sc.rateKBps } });
}

/**
 * A bad-request storm during the drill (lib/storm-plan.ts): `rate` bad requests per second from `at` for `for`,
 * sent by k6 beside the valid load. Its window is a fault window (phase `fault`): the valid traffic's per-phase
 * limits judge it, and the per-service view names a service the storm took down.
 */
export const DrillStorm = z
  .object({
    rate: z.number().positive().max(500),
    at: Duration.default(5),
    for: Duration.default(20),
    kinds: z.array(z.enum(STORM_KINDS)).min(1).optional(),
    witnessRate: z.number().int().min(1).max(50).optional(),
    burst: z.number().int().min(1).max(20).optional(),
  })
  .strict();
export type DrillStorm = z.infer<typeof DrillStorm>;

/** Seconds of load after the last heal, to watch recovery, when the duration is not given. */
export const RECOVERY_TAIL_S = 12;

export const DrillSpec = z
  .object({
    name: z.string().min(1).max(200).optional(),
    profile: z.enum(PROFILE_NAMES).default('failover'),
    /** Load duration (the profile's steady part); default: last heal + RECOVERY_TAIL_S. */
    duration: Duration.optional(),
    faults: z.array(DrillFaultStep).max(100, 'at most 100 faults').default([]),
    slowConsumers: SlowConsumersSpec.optional(),
    storm: DrillStorm.optional(),
    slo: DrillSlo.default(DrillSlo.parse({})),
    /**
     * Put Toxiproxy proxies in the stack the drill starts: in front of every dbman node, on every dbman node's
     * PostgreSQL link, and in front of Redis (network faults, db-cut and faults on redis need them).
     */
    proxy: z.boolean().default(false),
    /** HAProxy in front of the chat instances of the stack the drill starts (clients use one URL; chat faults need it). */
    chatLb: z.boolean().default(false),
    /** The dbman-lb topology for the stack the drill starts: the app services get one dbman URL behind HAProxy. */
    dbmanLb: z.boolean().default(false),
    /** The stack the drill starts runs Redis behind Sentinel (a replica, three sentinels; `stack up --redis-sentinel`). */
    redisSentinel: z.boolean().default(false),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.faults.length === 0 && !d.slowConsumers && !d.storm) ctx.addIssue({ code: 'custom', path: ['faults'], message: 'at least one fault (or slowConsumers, or a storm)' });
    if (d.storm) {
      if (d.storm.at < 1) ctx.addIssue({ code: 'custom', path: ['storm', 'at'], message: 'must be at least 1s after load start (a baseline first)' });
      if (d.duration !== undefined && d.storm.at + d.storm.for > d.duration) {
        ctx.addIssue({ code: 'custom', path: ['storm', 'for'], message: `the storm ends at ${d.storm.at + d.storm.for}s, after the load (duration ${d.duration}s)` });
      }
    }
    if (d.slowConsumers) {
      const sc = d.slowConsumers;
      if (sc.at < 1) ctx.addIssue({ code: 'custom', path: ['slowConsumers', 'at'], message: 'must be at least 1s after load start (a baseline first)' });
      if (sc.for <= 0) ctx.addIssue({ code: 'custom', path: ['slowConsumers', 'for'], message: 'must be more than 0s' });
      if (d.duration !== undefined && sc.at + sc.for > d.duration) {
        ctx.addIssue({ code: 'custom', path: ['slowConsumers', 'for'], message: `the span ends at ${sc.at + sc.for}s, after the load (duration ${d.duration}s)` });
      }
    }
    const fs = d.faults.map((f) => ({ ...f, for: f.for ?? DEFAULT_FOR_S }));
    fs.forEach((f, i) => {
      if (f.node === SLOW_PATH_NODE) ctx.addIssue({ code: 'custom', path: ['faults', i, 'node'], message: `${SLOW_PATH_NODE} is the slow-consumer path: use slowConsumers` });
      if (f.at < 1) ctx.addIssue({ code: 'custom', path: ['faults', i, 'at'], message: 'must be at least 1s after load start (a baseline first)' });
      if (f.for <= 0 && f.fault !== 'restart') ctx.addIssue({ code: 'custom', path: ['faults', i, 'for'], message: 'must be more than 0s' });
      if (d.duration !== undefined && f.at + f.for > d.duration) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'for'], message: `the fault ends at ${f.at + f.for}s, after the load (duration ${d.duration}s)` });
      }
      fs.forEach((g, j) => {
        if (j > i && g.node === f.node && g.at < f.at + f.for && f.at < g.at + g.for) {
          ctx.addIssue({ code: 'custom', path: ['faults', j, 'at'], message: `overlaps fault ${i} on the same node ${f.node}` });
        }
      });
    });
  })
  .transform((d) => {
    const given: FaultStep[] = d.faults.map((f) => ({ ...f, for: f.for ?? DEFAULT_FOR_S }));
    const faults = d.slowConsumers ? [...given, slowSpanStep(d.slowConsumers)] : given;
    return {
      ...d,
      faults,
      /** Per fault: whether its length was given (else the drill may size it from the target's client settings). */
      forGiven: [...d.faults.map((f) => f.for !== undefined), ...(d.slowConsumers ? [true] : [])],
      durationGiven: d.duration !== undefined,
      durationS: d.duration ?? defaultDurationS([...faults, ...(d.storm ? [d.storm] : [])]),
    };
  });
export type DrillSpec = z.infer<typeof DrillSpec>;

/** The load duration without --duration: the last heal + RECOVERY_TAIL_S. */
export function defaultDurationS(faults: readonly Pick<FaultStep, 'at' | 'for'>[]): number {
  if (faults.length === 0) return RECOVERY_TAIL_S;
  return Math.ceil(Math.max(...faults.map((f) => f.at + f.for)) + RECOVERY_TAIL_S);
}

/**
 * The k6 windows of a drill: every fault's and the storm's, sorted, overlapping ones merged (FAULT_WINDOWS must
 * not overlap). Pure.
 */
export function drillWindows(spec: Pick<DrillSpec, 'faults' | 'storm'>): [number, number][] {
  const all = [...spec.faults, ...(spec.storm ? [spec.storm] : [])].map((f) => [f.at, f.at + f.for] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const w of all) {
    const last = out.at(-1);
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else out.push([...w]);
  }
  return out;
}

/** STORM for k6 (lib/config.ts parseStorm): the drill's storm with its own window. */
export function stormEnv(storm: DrillStorm): string {
  return JSON.stringify({ rate: storm.rate, at: storm.at, for: storm.for, ...(storm.kinds ? { kinds: storm.kinds } : {}), ...(storm.witnessRate ? { witnessRate: storm.witnessRate } : {}), ...(storm.burst ? { burst: storm.burst } : {}) });
}

/** Whether the stack a drill starts needs Toxiproxy proxies: a network fault, a db-cut, or any fault on redis. */
export function needsProxy(spec: Pick<DrillSpec, 'faults'>): boolean {
  return spec.faults.some((f) => f.node !== SLOW_PATH_NODE && ((NETWORK_FAULTS as readonly FaultKind[]).includes(f.fault) || f.fault === 'db-cut' || f.node === 'redis'));
}

/**
 * Whether the stack a drill starts needs HAProxy in front of chat: a fault on a chat instance (clients must fail
 * over), or on `session-N` / `tenanthub-N` (the chat-LB topology runs two of each behind their own balancers).
 */
export function needsChatLb(spec: Pick<DrillSpec, 'faults'>): boolean {
  return spec.faults.some((f) => /^(chat|session|tenanthub)-\d+$/.test(f.node));
}

/** The largest drill file read. */
export const MAX_DRILL_FILE_BYTES = 1024 * 1024;

/** Reads a drill file: YAML (which also reads JSON), at most MAX_DRILL_FILE_BYTES. Field names as in DrillSpec. */
export function readDrillFile(path: string): unknown {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_DRILL_FILE_BYTES) throw new UsageError('--file', `--file: ${path} is ${size} bytes; allowed: a drill file of at most ${MAX_DRILL_FILE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--file: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new UsageError(`--file: ${path} is neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

export interface DrillFlags {
  fault?: string;
  node?: string;
  at?: string;
  for?: string;
  duration?: string;
  profile?: string;
  file?: string;
  proxy?: boolean;
  lb?: boolean;
  dbmanLb?: boolean;
  redisSentinel?: boolean;
  latencyMs?: string;
  jitterMs?: string;
  rateKbps?: string;
  hold?: string;
  sloP95Ms?: string;
  sloErrorRate?: string;
  maxFailover?: string;
  maxRecovery?: string;
  maxReadyFlip?: string;
  maxReconnectP95Ms?: string;
  maxReadyButFailing?: string;
  maxRelapses?: string;
  maxRelapse?: string;
  maxPromotion?: string;
}

/** The flag a spec key comes from, so that an error names what the user typed. */
const FLAG_OF_KEY: Record<string, string> = {
  duration: '--duration',
  profile: '--profile',
  'slo.holdS': '--hold',
  'slo.p95Ms': '--slo-p95-ms',
  'slo.errorRate': '--slo-error-rate',
  'slo.maxFailoverS': '--max-failover',
  'slo.maxRecoveryS': '--max-recovery',
  'slo.maxReadyFlipS': '--max-ready-flip',
  'slo.maxReconnectP95Ms': '--max-reconnect-p95-ms',
  'slo.maxReadyButFailingS': '--max-ready-but-failing',
  'slo.maxRelapses': '--max-relapses',
  'slo.maxRelapseS': '--max-relapse',
  'slo.maxPromotionS': '--max-promotion',
};
const FLAG_OF_PARAM: Record<string, string> = { latencyMs: '--latency-ms', jitterMs: '--jitter-ms', rateKBps: '--rate-kbps' };

function flagOfFaultKey(key: PropertyKey[]): string {
  if (key[0] === 'params') return FLAG_OF_PARAM[String(key[1])] ?? '--fault';
  return `--${String(key[0] ?? 'fault')}`;
}

const num = (v: string | undefined) => (v === undefined ? undefined : /^\d+(\.\d+)?$/.test(v) ? Number(v) : v);

/** Builds the spec from flags (a single fault) or from --file (flags --profile/--duration/--proxy override it). */
export function specFromFlags(f: DrillFlags): DrillSpec {
  let raw: Record<string, unknown>;
  if (f.file) {
    if (f.fault || f.node || f.at || f.for) throw new UsageError('--file: give the faults in the file or with --fault/--node, not both');
    const doc = readDrillFile(f.file);
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`--file: ${f.file} must hold an object with "faults"`);
    raw = { ...(doc as Record<string, unknown>) };
    return parseOrUsage(DrillSpec, withOverrides(raw, f), `${f.file}: `);
  }
  if (!f.fault) throw new UsageError(`--fault: required (one of ${FAULT_KINDS.join(', ')}), or --file <drill file>`);
  if (!f.node) throw new UsageError('--node: required, e.g. --node dbman-1');
  const params: Record<string, unknown> = {};
  if (f.latencyMs !== undefined) params.latencyMs = num(f.latencyMs);
  if (f.jitterMs !== undefined) params.jitterMs = num(f.jitterMs);
  if (f.rateKbps !== undefined) params.rateKBps = num(f.rateKbps);
  const step = parseOrUsage(
    DrillFaultStep.extend({ params: FaultParams.default(FaultParams.parse({})) }),
    { fault: f.fault, node: f.node, ...(f.at ? { at: num(f.at) } : {}), ...(f.for ? { for: num(f.for) } : {}), params },
    flagOfFaultKey,
  );
  raw = { faults: [step] };
  const spec = withOverrides(raw, f);
  // errors in the single fault are reported by flag name
  const r = DrillSpec.safeParse(spec);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path;
    const name = path[0] === 'faults' ? flagOfFaultKey(path.slice(2)) : (FLAG_OF_KEY[path.join('.')] ?? `--${String(path.at(-1) ?? 'arguments')}`);
    throw new UsageError(name, `${name}: ${issue.message}`);
  }
  return r.data;
}

/** A duration flag in the one grammar (lib/duration.ts), or a UsageError naming the flag. */
function durationFlag(flag: string, v: string): number {
  try {
    return parseDurationS(v);
  } catch (err) {
    throw new UsageError(flag, `${flag}: ${(err as Error).message}`);
  }
}

function withOverrides(raw: Record<string, unknown>, f: DrillFlags): Record<string, unknown> {
  const out = { ...raw };
  if (f.profile !== undefined) out.profile = f.profile;
  if (f.duration !== undefined) out.duration = num(f.duration);
  if (f.proxy) out.proxy = true;
  if (f.lb) out.chatLb = true;
  if (f.dbmanLb) out.dbmanLb = true;
  if (f.redisSentinel) out.redisSentinel = true;
  const slo = { ...((out.slo as Record<string, unknown> | undefined) ?? {}) };
  if (f.hold !== undefined) slo.holdS = num(f.hold);
  if (f.sloP95Ms !== undefined) slo.p95Ms = num(f.sloP95Ms);
  if (f.sloErrorRate !== undefined) slo.errorRate = num(f.sloErrorRate);
  if (f.maxFailover !== undefined) slo.maxFailoverS = durationFlag('--max-failover', f.maxFailover);
  if (f.maxRecovery !== undefined) slo.maxRecoveryS = durationFlag('--max-recovery', f.maxRecovery);
  if (f.maxReadyFlip !== undefined) slo.maxReadyFlipS = durationFlag('--max-ready-flip', f.maxReadyFlip);
  if (f.maxReconnectP95Ms !== undefined) slo.maxReconnectP95Ms = num(f.maxReconnectP95Ms);
  if (f.maxReadyButFailing !== undefined) slo.maxReadyButFailingS = durationFlag('--max-ready-but-failing', f.maxReadyButFailing);
  if (f.maxRelapses !== undefined) slo.maxRelapses = num(f.maxRelapses);
  if (f.maxRelapse !== undefined) slo.maxRelapseS = durationFlag('--max-relapse', f.maxRelapse);
  if (f.maxPromotion !== undefined) slo.maxPromotionS = durationFlag('--max-promotion', f.maxPromotion);
  if (Object.keys(slo).length) out.slo = slo;
  return out;
}
