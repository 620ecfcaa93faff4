/**
 * The k6 environment, parsed and validated once.
 *
 * PURE: no `k6/*` import and no Node import, so the runner can import `parseConfig` from Node and reject a bad
 * value (exit 2) before k6 starts, and k6 runs exactly the same parser at init (`lib/env.ts`).
 * Validation is zod (the `zod/mini` build: 46 kB in the bundle, it runs in k6's JS runtime; see lib/README.md).
 */
import * as z from 'zod/mini';
import { parseDurationS } from './duration.js';
import { isLoopbackHost, redactUrls, urlParts } from './loopback.js';
import type { SloOverrides } from './slo.js';
import { STORM_KINDS, type StormConfig } from './storm-plan.js';
import { PROFILE_NAMES, type FaultWindow, type ProfileName } from './types.js';
import { parseSlowConsumers, type SlowConsumers } from './slow-consumers.js';

export interface SuiteConfig {
  /** chat REST base without /api/v1, e.g. http://127.0.0.1:8080 */
  chatUrl: string;
  /** orghub base without /api/v1, e.g. http://127.0.0.1:8091 */
  authUrl: string;
  /** the room WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws */
  wsUrl: string;
  /** session base without /api/v1 (SESSION_URL); with tenanthubUrl it turns the msa part on. */
  sessionUrl: string | undefined;
  /** tenanthub base without /api/v1 (TENANTHUB_URL). */
  tenanthubUrl: string | undefined;
  tenantId: string;
  loginEmail: string;
  /** Never printed, never written to a report. */
  loginPassword: string;
  /**
   * Users that already exist, to run as instead of creating a pool (USERS, a JSON array of {email, password};
   * the runner fills it from the target file's `users`). Never printed, never written to a report.
   */
  users: { email: string; password: string }[];
  profile: ProfileName;
  /** Run id put into every message marker; when unset, setup() makes one and shares it through setup data. */
  runId: string | undefined;
  /** Seconds after load start, sorted, non-overlapping, [start, end). */
  faultWindows: FaultWindow[];
  /** Where handleSummary writes k6's summary data as JSON; unset = not written. */
  summaryPath: string | undefined;
  /** Load multiplier applied to every rate, VU count and subscriber count of the profile (SCALE). */
  scale: number;
  /** Overrides the profile's steady duration, in seconds (DURATION: "90s", "5m", "1h", or plain seconds). */
  durationS: number | undefined;
  /** Overrides the profile's number of extra users created in setup (USER_POOL, 0 = everything as the admin). */
  userPool: number | undefined;
  /** Targets outside 127.0.0.0/8 / localhost are refused unless this is set (ALLOW_REMOTE=1). */
  allowRemote: boolean;
  /** Tag for this load generator in message markers when one profile is split over several k6 processes. */
  instance: string;
  /** SLO limits that replace the profile's (SLO, JSON), e.g. {"phases":{"fault":{"httpP95Ms":6000}}}. */
  sloOverrides: SloOverrides | undefined;
  /**
   * The hot room of a split run, made once by `npm run load -- prepare` and shared by every part (HOT_ROOM, a
   * room id): setup() then adds its pool users to it instead of creating its own. Unset = setup makes one.
   */
  hotRoom: string | undefined;
  /** Slow consumers in the hot room (SLOW_CONSUMERS, JSON; lib/slow-consumers.ts); set by the drill. */
  slowConsumers: SlowConsumers | undefined;
  /**
   * The bad-request storm (STORM, JSON; lib/storm-plan.ts): bad requests per second while the valid traffic runs,
   * in its window (default the whole load). Unset: no storm.
   */
  storm: StormConfig | undefined;
}

/** A bad environment value. `message` is one line naming the variable and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Everything this module reads, for documentation and for the runner (which passes these through to k6). */
export const ENV_VARIABLES = [
  'CHAT_URL',
  'AUTH_URL',
  'WS_URL',
  'SESSION_URL',
  'TENANTHUB_URL',
  'TENANT_ID',
  'LOGIN_EMAIL',
  'LOGIN_PASSWORD',
  'PROFILE',
  'RUN_ID',
  'FAULT_WINDOWS',
  'SUMMARY_PATH',
  'SCALE',
  'DURATION',
  'USER_POOL',
  'ALLOW_REMOTE',
  'INSTANCE',
  'SLO',
  'HOT_ROOM',
  'USERS',
  'SLOW_CONSUMERS',
  'STORM',
] as const;

const SECRET = new Set(['LOGIN_PASSWORD', 'USERS']);

const httpUrl = z.string().check(z.regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/));
const wsUrl = z.string().check(z.regex(/^wss?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/));
const nonEmpty = z.string().check(z.minLength(1), z.maxLength(512), z.regex(/^\S(.*\S)?$/));
const runId = z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/));
const profile = z.enum(PROFILE_NAMES);
const positiveNumber = z.pipe(
  z.string().check(z.regex(/^\d+(\.\d+)?$/)),
  z.pipe(
    z.transform((s: string) => Number(s)),
    z.number().check(z.positive(), z.lte(1000)),
  ),
);
const poolSize = z.pipe(
  z.string().check(z.regex(/^\d{1,4}$/)),
  z.pipe(
    z.transform((s: string) => Number(s)),
    z.number().check(z.int(), z.gte(0), z.lte(1000)),
  ),
);
const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']);
const instance = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,16}$/));
const roomId = z.string().check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/));
const ratio = z.optional(z.number().check(z.gte(0), z.lte(1)));
const ms = z.optional(z.number().check(z.positive(), z.lte(3_600_000)));
const phaseSlo = z.strictObject({ errorRateMax: ratio, httpP95Ms: ms, storeSuccessMin: ratio, storeP95Ms: ms, wsDeliveryP95Ms: ms, wsReconnectP95Ms: ms });
const sloOverrides = z.strictObject({
  whole: z.optional(
    z.strictObject({
      storeSuccessMin: ratio,
      storeP95Ms: ms,
      storeP99Ms: ms,
      listP95Ms: ms,
      httpP95Ms: ms,
      httpP99Ms: ms,
      errorRateMax: ratio,
      wsDeliveryP95Ms: ms,
      fanoutP95Ms: ms,
      fanoutDeliveryMin: ratio,
      wsSessionOkMin: ratio,
      wsSendsSkippedMax: ratio,
      readAfterWriteMissMax: ratio,
    }),
  ),
  phases: z.optional(z.strictObject({ baseline: z.optional(phaseSlo), fault: z.optional(phaseSlo), recovery: z.optional(phaseSlo) })),
  abort: z.optional(z.strictObject({ storeSuccessMin: ratio, errorRateMax: ratio, wsSessionOkMin: ratio, delayS: z.optional(z.number().check(z.gte(0), z.lte(3600))) })),
  msa: z.optional(
    z.strictObject({ errorRateMax: ratio, httpP95Ms: ms, httpP99Ms: ms, messageP95Ms: ms, messageP99Ms: ms, statusP95Ms: ms, tenantsP95Ms: ms }),
  ),
});
const usersShape = z.array(z.strictObject({ email: z.string().check(z.minLength(1), z.maxLength(512)), password: z.string().check(z.minLength(1), z.maxLength(512)) })).check(z.maxLength(1000));
const stormShape = z.strictObject({
  rate: z.number().check(z.positive(), z.lte(500)),
  at: z.optional(z.number().check(z.gte(0), z.lte(6 * 3600))),
  for: z.optional(z.number().check(z.positive(), z.lte(6 * 3600))),
  kinds: z.optional(z.array(z.enum(STORM_KINDS)).check(z.minLength(1))),
  witnessRate: z.optional(z.number().check(z.int(), z.gte(1), z.lte(50))),
  burst: z.optional(z.number().check(z.int(), z.gte(1), z.lte(20))),
});
const windowsShape = z.array(z.tuple([z.number().check(z.gte(0)), z.number().check(z.gte(0))]));

function show(name: string, value: string): string {
  if (SECRET.has(name)) return '(hidden)';
  const plain = redactUrls(value);
  const v = plain.length > 60 ? `${plain.slice(0, 57)}...` : plain;
  return JSON.stringify(v);
}

function fail(name: string, allowed: string, value: string | undefined): never {
  const got = value === undefined ? 'it is not set' : `got ${show(name, value)}`;
  throw new ConfigError(name, `${name}: ${allowed}; ${got}`);
}

function required<T>(env: Env, name: string, schema: z.ZodMiniType<T>, allowed: string): T {
  const raw = env[name];
  if (raw === undefined || raw === '') fail(name, allowed, undefined);
  const r = z.safeParse(schema, raw);
  if (!r.success) fail(name, allowed, raw);
  return r.data;
}

function optional<T>(env: Env, name: string, schema: z.ZodMiniType<T>, allowed: string): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const r = z.safeParse(schema, raw);
  if (!r.success) fail(name, allowed, raw);
  return r.data;
}

function jsonOf(name: string, raw: string, allowed: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return fail(name, allowed, raw);
  }
}

/** Parses FAULT_WINDOWS: JSON `[[startS, endS], ...]`, each start < end, sorted and not overlapping. */
export function parseFaultWindows(raw: string | undefined): FaultWindow[] {
  const allowed = 'a JSON array of [startS, endS] pairs of seconds after load start, start < end, sorted, not overlapping, e.g. [[20,40]]';
  if (raw === undefined || raw.trim() === '') return [];
  const r = z.safeParse(windowsShape, jsonOf('FAULT_WINDOWS', raw, allowed));
  if (!r.success) fail('FAULT_WINDOWS', allowed, raw);
  const windows = r.data.map(([a, b]) => [a, b] as const);
  if (windows.length > 100) fail('FAULT_WINDOWS', `${allowed} (at most 100)`, raw);
  for (let i = 0; i < windows.length; i++) {
    const [a, b] = windows[i]!;
    if (!(Number.isFinite(a) && Number.isFinite(b) && a < b)) fail('FAULT_WINDOWS', allowed, raw);
    if (i > 0 && a < windows[i - 1]![1]) fail('FAULT_WINDOWS', allowed, raw);
  }
  return windows;
}

/** Parses USERS: a JSON array of {email, password} (at most 1000); [] when unset. The value is never echoed. */
export function parseUsers(raw: string | undefined): { email: string; password: string }[] {
  if (raw === undefined || raw.trim() === '') return [];
  const allowed = 'a JSON array of {"email", "password"} objects of users that already exist (at most 1000)';
  const r = z.safeParse(usersShape, jsonOf('USERS', raw, allowed));
  if (!r.success) fail('USERS', allowed, raw);
  return r.data;
}

/** Parses STORM: JSON {"rate", "at"?, "for"? (seconds), "kinds"?, "witnessRate"?, "burst"?}; undefined when unset. */
export function parseStorm(raw: string | undefined): StormConfig | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const allowed = `a JSON object {"rate": bad requests per second (0 < rate <= 500), "at"?: seconds after load start, "for"?: seconds, "kinds"?: [${STORM_KINDS.join(', ')}], "witnessRate"?: 1..50 per service, "burst"?: 1..20 copies of each bad request at once}`;
  const r = z.safeParse(stormShape, jsonOf('STORM', raw, allowed));
  if (!r.success) fail('STORM', allowed, raw);
  const d = r.data;
  return { rate: d.rate, atS: d.at ?? 0, forS: d.for, kinds: d.kinds ?? [...STORM_KINDS], witnessRate: d.witnessRate ?? 2, burst: d.burst ?? 1 };
}

/** Parses SLO: JSON overrides of the profile's limits (see lib/README.md); undefined when unset. */
export function parseSloOverrides(raw: string | undefined): SloOverrides | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const allowed =
    'a JSON object {"whole"?: {...}, "phases"?: {"baseline"|"fault"|"recovery": {...}}, "abort"?: {...}, "msa"?: {...}} with the limit names of lib/slo.ts and lib/msa-plan.ts (ratios 0..1, milliseconds > 0)';
  const r = z.safeParse(sloOverrides, jsonOf('SLO', raw, allowed));
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length ? ` (at ${issue.path.join('.')})` : '';
    fail('SLO', `${allowed}${where}`, raw);
  }
  return r.data as SloOverrides;
}

/** The host part of an http(s)/ws(s) URL, lower-cased, port stripped ('' when it is not such a URL). */
export function urlHost(url: string): string {
  return urlParts(url)?.host ?? '';
}

export function isLoopbackUrl(url: string): boolean {
  return isLoopbackHost(urlHost(url));
}

/**
 * Parses and validates the k6 environment. Throws ConfigError (one line, naming the variable and what is allowed;
 * never echoing LOGIN_PASSWORD) on the first bad value. `defaultProfile` is the scenario file's own profile.
 */
export function parseConfig(env: Env, defaultProfile: ProfileName = 'smoke'): SuiteConfig {
  const chatUrl = required(env, 'CHAT_URL', httpUrl, 'the chat REST base URL, http:// or https://, e.g. http://127.0.0.1:8080');
  const authUrl = required(env, 'AUTH_URL', httpUrl, 'the orghub base URL, http:// or https://, e.g. http://127.0.0.1:8091');
  const ws = required(env, 'WS_URL', wsUrl, 'the room WebSocket URL, ws:// or wss://, e.g. ws://127.0.0.1:8080/ws');
  const sessionUrl = optional(env, 'SESSION_URL', httpUrl, 'the session base URL, http:// or https://, e.g. http://127.0.0.1:8090 (unset: no msa part)');
  const tenanthubUrl = optional(env, 'TENANTHUB_URL', httpUrl, 'the tenanthub base URL, http:// or https://, e.g. http://127.0.0.1:8092 (unset: no msa part)');
  const tenantId = required(env, 'TENANT_ID', nonEmpty, 'a non-empty tenant id without surrounding spaces');
  const loginEmail = required(env, 'LOGIN_EMAIL', nonEmpty, 'the admin login e-mail, non-empty');
  const loginPassword = required(env, 'LOGIN_PASSWORD', z.string().check(z.minLength(1), z.maxLength(512)), 'the admin password, non-empty');
  const users = parseUsers(env.USERS);
  const prof = optional(env, 'PROFILE', profile, `one of ${PROFILE_NAMES.join(', ')}`) ?? defaultProfile;
  const run = optional(env, 'RUN_ID', runId, '1 to 64 characters from A-Z a-z 0-9 _ . -');
  const faultWindows = parseFaultWindows(env.FAULT_WINDOWS);
  const summaryPath = optional(env, 'SUMMARY_PATH', nonEmpty, 'a file path to write the summary JSON to');
  const scale = optional(env, 'SCALE', positiveNumber, 'a decimal number > 0 and <= 1000, e.g. 0.05') ?? 1;
  const durationRaw = env.DURATION;
  let durationS: number | undefined;
  if (durationRaw !== undefined && durationRaw !== '') {
    const d = parseDurationS(durationRaw);
    if (d === undefined || d < 5 || d > 6 * 3600) {
      fail('DURATION', 'a duration from 5s to 6h such as 90s, 5m, 1h30m or plain seconds', durationRaw);
    }
    durationS = d;
  }
  const userPool = optional(env, 'USER_POOL', poolSize, 'an integer from 0 to 1000');
  const allowRemoteRaw = optional(env, 'ALLOW_REMOTE', bool, 'one of 1, 0, true, false, yes, no');
  const allowRemote = allowRemoteRaw === '1' || allowRemoteRaw === 'true' || allowRemoteRaw === 'yes';
  const inst = optional(env, 'INSTANCE', instance, '1 to 16 characters from A-Z a-z 0-9 _ -') ?? '0';
  const slo = parseSloOverrides(env.SLO);
  const storm = parseStorm(env.STORM);
  const hotRoom = optional(env, 'HOT_ROOM', roomId, 'a room id (1 to 128 characters from A-Z a-z 0-9 _ . : -) made by npm run load -- prepare');

  const slow = parseSlowConsumers(env.SLOW_CONSUMERS);
  if (slow && 'error' in slow) fail('SLOW_CONSUMERS', slow.error, env.SLOW_CONSUMERS);

  for (const [name, url] of [
    ['CHAT_URL', chatUrl],
    ['AUTH_URL', authUrl],
    ['WS_URL', ws],
    ['SESSION_URL', sessionUrl],
    ['TENANTHUB_URL', tenanthubUrl],
    ...(slow ? ([['SLOW_CONSUMERS', slow.wsUrl]] as const) : []),
  ] as const) {
    if (url === undefined) continue;
    const parts = urlParts(url);
    if (!parts) fail(name, 'a URL of the form scheme://host[:port][/path]', url);
    if (parts.userinfo !== undefined) {
      throw new ConfigError(name, `${name}: a URL without credentials (user:password@); the login goes in LOGIN_EMAIL and LOGIN_PASSWORD; got ${JSON.stringify(redactUrls(url))}`);
    }
    if (!allowRemote && !isLoopbackHost(parts.host)) {
      fail(name, 'a loopback URL (127.0.0.0/8, localhost, [::1]) unless ALLOW_REMOTE=1 is set', url);
    }
  }

  return {
    chatUrl: chatUrl.replace(/\/+$/, ''),
    authUrl: authUrl.replace(/\/+$/, ''),
    wsUrl: ws,
    sessionUrl: sessionUrl?.replace(/\/+$/, ''),
    tenanthubUrl: tenanthubUrl?.replace(/\/+$/, ''),
    tenantId,
    loginEmail,
    loginPassword,
    users,
    profile: prof,
    runId: run,
    faultWindows,
    summaryPath,
    scale,
    durationS,
    userPool,
    allowRemote,
    instance: inst,
    sloOverrides: slo,
    hotRoom,
    slowConsumers: slow,
    storm,
  };
}
