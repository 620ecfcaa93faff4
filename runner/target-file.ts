/**
 * The target description file: the one document that says where a system under test is and how faults
 * reach its parts. `npm run stack -- up` writes it for the reference target; users write one by hand for a
 * real deployment. The smoke, the drills and the chaos CLI read it. Parsed once, here, with zod.
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/** One proxy of a toxiproxy-server: its HTTP API and the proxy's name. */
export const ToxiproxyProxy = z
  .object({
    apiUrl: z.url(),
    proxy: z.string().min(1),
  })
  .strict();
export type ToxiproxyProxy = z.infer<typeof ToxiproxyProxy>;

/** How a fault driver can reach one component. Every field is optional: a component may be reachable several ways. */
export const FaultAccess = z
  .object({
    /** A local process: stop, kill, pause and resume by signal. */
    pid: z.number().int().positive().optional(),
    /** A Docker container, by name or id (docker driver). */
    container: z.string().min(1).optional(),
    /** A Toxiproxy proxy in front of the component, on the path its clients use (network faults). */
    toxiproxy: ToxiproxyProxy.optional(),
    /**
     * dbman nodes only: a Toxiproxy proxy on the node's own link to PostgreSQL (its DATABASE_URL points at it),
     * so `db-cut` takes the database away from this node alone while the node itself keeps running.
     */
    dbLink: ToxiproxyProxy.optional(),
  })
  .strict();
export type FaultAccess = z.infer<typeof FaultAccess>;

export const Component = z
  .object({
    /** dbman-1, dbman-2, ... in the order of the app services' endpoint list; chat-1, chat-2; orghub. */
    name: z.string().max(64).regex(/^[a-z][a-z0-9-]*$/),
    /** Base URL of the component as the suite reaches it (health checks). */
    url: z.url(),
    faults: FaultAccess.default({}),
  })
  .strict();
export type Component = z.infer<typeof Component>;

/**
 * A load balancer of the deployment (HAProxy in the reference target). `fronts: "chat"`: the clients' one URL
 * (chatUrl and wsUrl point at it); `fronts: "dbman"`: the app services' one dbman URL (the `dbman-lb` topology),
 * which health-checks every node's /health/ready and takes a not-ready node out of traffic.
 */
export const LoadBalancer = Component.extend({
  /** `session` / `tenanthub`: the msa services' one URL in front of their instances (sessionUrl, tenanthubUrl). */
  fronts: z.enum(['chat', 'dbman', 'session', 'tenanthub']),
  /** Where the balancer reports its backends' state (HAProxy's stats page, CSV with `;csv`), when it has one. */
  statsUrl: z.url().optional(),
}).strict();
export type LoadBalancer = z.infer<typeof LoadBalancer>;

/**
 * The dbman client settings of the app services (the contract's DBMAN_HTTP_TIMEOUT_MS, DBMAN_FAIL_THRESHOLD,
 * DBMAN_COOLDOWN_MS). The drill sizes its default fault windows from them; absent: the contract's defaults.
 */
export const DbmanClientSettings = z
  .object({
    timeoutMs: z.number().int().positive().default(5000),
    failThreshold: z.number().int().positive().default(3),
    cooldownMs: z.number().int().nonnegative().default(10_000),
  })
  .strict();
export type DbmanClientSettings = z.infer<typeof DbmanClientSettings>;
export const CONTRACT_CLIENT_SETTINGS: DbmanClientSettings = { timeoutMs: 5000, failThreshold: 3, cooldownMs: 10_000 };

/**
 * The read-only internal-API operation the drill sends to every dbman node to see whether it serves (besides
 * /health/ready): `POST /api/internal/v1/db/<operation>` with `body`; any answer below 500 counts as serving.
 */
export const ServingProbe = z
  .object({
    operation: z.string().regex(/^[a-z][a-z0-9/_-]*$/, 'an operation path such as tenants/list'),
    body: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type ServingProbe = z.infer<typeof ServingProbe>;
/** The default serving probe: `tenants/list` reads the node's database through its own data path and changes nothing. */
export const DEFAULT_SERVING_PROBE: ServingProbe = { operation: 'tenants/list', body: {} };

/** A user that already exists on the target, to run as (never printed or stored). */
export const ExistingUser = z.object({ email: z.string().min(1).max(512), password: z.string().min(1).max(512) }).strict();
export type ExistingUser = z.infer<typeof ExistingUser>;

export const TargetFile = z
  .object({
    version: z.literal(1),
    /** Free text shown in reports, e.g. "reference (local)" or "staging". */
    name: z.string().min(1).max(200),
    /** chat REST base, without /api/v1 (CHAT_URL). */
    chatUrl: z.url(),
    /** orghub base, without /api/v1 (AUTH_URL). */
    authUrl: z.url(),
    /** The room WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws (WS_URL). */
    wsUrl: z.url(),
    /** session base, without /api/v1 (SESSION_URL): a balancer or the one instance. With tenanthubUrl: the msa part runs. */
    sessionUrl: z.url().optional(),
    /** tenanthub base, without /api/v1 (TENANTHUB_URL). */
    tenanthubUrl: z.url().optional(),
    tenantId: z.string().min(1).max(512),
    login: z.object({ email: z.string().min(1).max(512), password: z.string().min(1).max(512) }).strict(),
    /**
     * Users that already exist, for deployments where the suite may not or cannot create users: the scenarios log
     * in as them (spread over the VUs) instead of creating a pool. Never printed or stored.
     */
    users: z.array(ExistingUser).max(1000).optional(),
    /** The app services' dbman client settings (the launcher writes the reference target's). */
    dbmanClient: DbmanClientSettings.optional(),
    /** The drill's serving probe per dbman node (default tenants/list). */
    servingProbe: ServingProbe.optional(),
    dbmanNodes: z.array(Component).max(256).default([]),
    chatInstances: z.array(Component).max(256).default([]),
    orghub: Component.optional(),
    /** The session instances (session, or session-1, session-2 behind a balancer) and the tenanthub ones: fault targets. */
    sessionInstances: z.array(Component).max(256).default([]),
    tenanthubInstances: z.array(Component).max(256).default([]),
    /**
     * The Redis the chat instances fan out through (`redis://` URL); faults reach it by its process or container
     * (stop, kill, pause, restart) and by a Toxiproxy proxy in front of it (network faults).
     */
    redis: Component.optional(),
    /** The PostgreSQL behind the dbman nodes (`postgres://` URL, no credentials needed); faults by process or container. */
    postgres: Component.optional(),
    /**
     * Redis behind Sentinel: `redis` is the primary at the start, `replicas` the others, `sentinels` the sentinels
     * (`redis://` URLs, asked for `masterName`'s primary: a drill on the primary measures the promotion). Every one
     * of them is a fault target by its name.
     */
    redisSentinel: z
      .object({ masterName: z.string().min(1), sentinels: z.array(Component).min(1).max(64), replicas: z.array(Component).max(64).default([]) })
      .strict()
      .optional(),
    loadBalancers: z.array(LoadBalancer).max(64).default([]),
    /** Set by the reference target's launcher only. */
    reference: z
      .object({
        stateDir: z.string().min(1),
        launcherPid: z.number().int().positive().optional(),
        flaws: z.array(z.string()),
        /** `client-side`: the app services get every dbman node in DBMAN_ENDPOINTS; `dbman-lb`: one URL behind a balancer. */
        topology: z.enum(['client-side', 'dbman-lb']).default('client-side'),
        postgres: z.object({ url: z.string(), pid: z.number().int().positive().optional() }).strict(),
        redis: z.object({ url: z.string(), pid: z.number().int().positive().optional() }).strict(),
      })
      .passthrough()
      .optional(),
  })
  .strict();
export type TargetFile = z.infer<typeof TargetFile>;

export class TargetFileError extends Error {}

/** The largest target file read: a description of a deployment, not data (a real one is a few KB). */
export const MAX_TARGET_FILE_BYTES = 1024 * 1024;

/** Reads and validates a target file; throws TargetFileError with a one-line message naming the path and field. */
export function readTargetFile(path: string): TargetFile {
  let raw: unknown;
  try {
    const size = statSync(path).size;
    if (size > MAX_TARGET_FILE_BYTES) throw new TargetFileError(`target file ${path}: ${size} bytes; allowed: at most ${MAX_TARGET_FILE_BYTES} bytes`);
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof TargetFileError) throw err;
    throw new TargetFileError(`target file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = TargetFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TargetFileError(`target file ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
