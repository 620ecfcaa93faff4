/**
 * The dbman client used by chat and orghub, with exactly the contract's settings and behaviour:
 *
 * - DBMAN_ENDPOINTS (comma-separated, preferred) or DBMAN_ENDPOINT (default http://localhost:8082);
 *   DBMAN_HTTP_TIMEOUT_MS (5000), DBMAN_FAIL_THRESHOLD (3), DBMAN_COOLDOWN_MS (10000).
 * - Each request starts at the next endpoint in round-robin order; on a connection error, a timeout or a 5xx
 *   it moves on to the next endpoint, at most once around the list; endpoints in cooldown are skipped; a
 *   success resets an endpoint's failure count; a 4xx is returned at once without trying others. Writes are
 *   retried like reads (so a write committed by a node that then timed out can be stored again).
 * - After DBMAN_FAIL_THRESHOLD consecutive failures an endpoint is set aside for DBMAN_COOLDOWN_MS and its
 *   count starts again from zero (so after every cooldown a dead node costs up to threshold failures again).
 * - When every endpoint of the list is in cooldown, the request tries them all anyway, in round-robin order
 *   (a client that refused outright could never notice a recovery before the cooldown ends).
 *
 * Flaws (TARGET_FLAWS, each for every service or scoped to one with `@service`): single-endpoint (only the first
 * endpoint), no-cooldown (never set aside),
 * slow-failover (5000 ms / 3 / 10000 ms whatever is configured; TARGET_FLAW_SLOW_TIMEOUT_MS and
 * TARGET_FLAW_SLOW_COOLDOWN_MS change the forced timeout and cooldown), validation-500 (with every endpoint in cooldown a
 * request fails at once, as the real client does, instead of trying them all anyway).
 */
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { flawsForService, parseFlaws, type FlawName, type FlawService } from '../flaws.js';
import { intVar, parseEnv } from '../shared/env.js';

export const CONTRACT_DEFAULTS = {
  endpoint: 'http://localhost:8082',
  timeoutMs: 5000,
  failThreshold: 3,
  cooldownMs: 10_000,
} as const;

export interface DbmanClientConfig {
  endpoints: string[];
  timeoutMs: number;
  failThreshold: number;
  cooldownMs: number;
  /** The flaws for this client's service (scope removed). */
  flaws: FlawName[];
  /** What slow-failover forces (default the contract's 5000 ms timeout and 10 s cooldown). */
  slowFailover?: { timeoutMs: number; cooldownMs: number };
}

const endpointUrl = z
  .string()
  .refine((s) => /^https?:\/\/[^/\s]+\/?$/.test(s), 'must be an http(s)://host:port URL without a path')
  .transform((s) => s.replace(/\/$/, ''));

const EnvSchema = z.object({
  DBMAN_ENDPOINTS: z
    .string()
    .optional()
    .transform((s) =>
      s === undefined || s.trim() === ''
        ? undefined
        : s
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== ''),
    )
    .pipe(z.array(endpointUrl).min(1, 'needs at least one endpoint').optional()),
  DBMAN_ENDPOINT: z.preprocess((v) => (v === undefined || v === '' ? CONTRACT_DEFAULTS.endpoint : v), endpointUrl),
  DBMAN_HTTP_TIMEOUT_MS: intVar(CONTRACT_DEFAULTS.timeoutMs, 1, 600_000),
  DBMAN_FAIL_THRESHOLD: intVar(CONTRACT_DEFAULTS.failThreshold, 1, 1_000_000),
  DBMAN_COOLDOWN_MS: intVar(CONTRACT_DEFAULTS.cooldownMs, 0, 3_600_000),
  /** slow-failover: the timeout and cooldown it forces (default the contract's 5000 and 10000; tests pick shorter). */
  TARGET_FLAW_SLOW_TIMEOUT_MS: intVar(CONTRACT_DEFAULTS.timeoutMs, 1, 600_000),
  TARGET_FLAW_SLOW_COOLDOWN_MS: intVar(CONTRACT_DEFAULTS.cooldownMs, 0, 3_600_000),
});

/**
 * Reads the client's settings from the environment (contract names and defaults) plus TARGET_FLAWS: the flaws for
 * every service and those scoped to `service` (`single-endpoint@session`).
 */
export function dbmanClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env, service?: FlawService): DbmanClientConfig {
  const e = parseEnv(EnvSchema, env);
  const flaws = flawsForService(parseFlaws(env['TARGET_FLAWS']), service);
  return {
    endpoints: e.DBMAN_ENDPOINTS ?? [e.DBMAN_ENDPOINT],
    timeoutMs: e.DBMAN_HTTP_TIMEOUT_MS,
    failThreshold: e.DBMAN_FAIL_THRESHOLD,
    cooldownMs: e.DBMAN_COOLDOWN_MS,
    flaws,
    ...(flaws.includes('slow-failover') ? { slowFailover: { timeoutMs: e.TARGET_FLAW_SLOW_TIMEOUT_MS, cooldownMs: e.TARGET_FLAW_SLOW_COOLDOWN_MS } } : {}),
  };
}

export interface DbmanResponse<T = unknown> {
  status: number;
  body: T;
  /** The endpoint that answered. */
  endpoint: string;
}

export type AttemptOutcome = 'ok' | 'http-4xx' | 'http-5xx' | 'timeout' | 'connect-error';
export interface Attempt {
  endpoint: string;
  outcome: AttemptOutcome;
  ms: number;
  detail?: string;
}

/** Every endpoint failed (or was skipped): the message names the last failure. */
export class DbmanUnavailableError extends Error {
  constructor(
    readonly operation: string,
    readonly attempts: Attempt[],
  ) {
    const last = attempts[attempts.length - 1];
    super(
      `dbman ${operation}: no endpoint answered` +
        (last ? ` (last: ${last.endpoint} ${last.outcome}${last.detail ? ` ${last.detail}` : ''})` : ''),
    );
  }
}

class TimeoutError extends Error {}
class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

interface EndpointState {
  url: string;
  failures: number;
  cooldownUntil: number;
}

export interface DbmanClientOptions {
  /** Clock for the cooldown, ms (tests). */
  now?: () => number;
  /** Called after every attempt (tests, logs). */
  onAttempt?: (a: Attempt) => void;
}

export class DbmanClient {
  readonly effective: { endpoints: string[]; timeoutMs: number; failThreshold: number; cooldownMs: number };
  private readonly states: EndpointState[];
  private rr = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
  private readonly now: () => number;

  constructor(
    readonly config: DbmanClientConfig,
    private readonly opts: DbmanClientOptions = {},
  ) {
    const slow = config.flaws.includes('slow-failover');
    const noCooldown = config.flaws.includes('no-cooldown');
    const endpoints = config.flaws.includes('single-endpoint') ? config.endpoints.slice(0, 1) : [...config.endpoints];
    if (endpoints.length === 0) throw new Error('dbman client: no endpoint');
    this.effective = {
      endpoints,
      timeoutMs: slow ? (config.slowFailover?.timeoutMs ?? CONTRACT_DEFAULTS.timeoutMs) : config.timeoutMs,
      failThreshold: noCooldown ? Number.POSITIVE_INFINITY : slow ? CONTRACT_DEFAULTS.failThreshold : config.failThreshold,
      cooldownMs: noCooldown ? 0 : slow ? (config.slowFailover?.cooldownMs ?? CONTRACT_DEFAULTS.cooldownMs) : config.cooldownMs,
    };
    this.states = endpoints.map((url) => ({ url, failures: 0, cooldownUntil: 0 }));
    this.now = opts.now ?? Date.now;
  }

  /** A snapshot of each endpoint's failure count and whether it is in cooldown now. */
  endpointStates(): Array<{ url: string; failures: number; inCooldown: boolean }> {
    const now = this.now();
    return this.states.map((s) => ({ url: s.url, failures: s.failures, inCooldown: s.cooldownUntil > now }));
  }

  /**
   * POSTs `body` to `<endpoint>/api/internal/v1/db/<operation>` following the contract. Resolves with the first
   * non-5xx answer (2xx or 4xx); rejects with DbmanUnavailableError when no endpoint answered that way.
   */
  async call<T = unknown>(operation: string, body: unknown): Promise<DbmanResponse<T>> {
    const op = operation.replace(/^\/+/, '');
    const payload = Buffer.from(JSON.stringify(body ?? {}));
    const n = this.states.length;
    const start = this.rr;
    this.rr = (this.rr + 1) % n;
    const now = this.now();
    const order: EndpointState[] = [];
    for (let i = 0; i < n; i++) order.push(this.states[(start + i) % n]!);
    let candidates = order.filter((s) => s.cooldownUntil <= now);
    if (candidates.length === 0) {
      if (this.config.flaws.includes('validation-500')) throw new DbmanUnavailableError(op, []);
      candidates = order;
    }
    const attempts: Attempt[] = [];
    for (const st of candidates) {
      const t0 = this.now();
      try {
        const res = await this.post(st.url, op, payload);
        st.failures = 0;
        st.cooldownUntil = 0;
        const a: Attempt = { endpoint: st.url, outcome: res.status >= 400 ? 'http-4xx' : 'ok', ms: this.now() - t0 };
        attempts.push(a);
        this.opts.onAttempt?.(a);
        return { status: res.status, body: res.body as T, endpoint: st.url };
      } catch (err) {
        const outcome: AttemptOutcome =
          err instanceof TimeoutError ? 'timeout' : err instanceof HttpStatusError ? 'http-5xx' : 'connect-error';
        const a: Attempt = { endpoint: st.url, outcome, ms: this.now() - t0, detail: (err as Error).message };
        attempts.push(a);
        this.opts.onAttempt?.(a);
        this.recordFailure(st);
      }
    }
    throw new DbmanUnavailableError(op, attempts);
  }

  private recordFailure(st: EndpointState): void {
    st.failures += 1;
    if (st.failures >= this.effective.failThreshold) {
      st.cooldownUntil = this.now() + this.effective.cooldownMs;
      st.failures = 0;
    }
  }

  private post(base: string, op: string, payload: Buffer): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const url = new URL(`${base}/api/internal/v1/db/${op}`);
      const isHttps = url.protocol === 'https:';
      const mod = isHttps ? https : http;
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        fn();
      };
      const req = mod.request(
        url,
        {
          method: 'POST',
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => finish(() => reject(err)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 500) return finish(() => reject(new HttpStatusError(status)));
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text === '' ? null : JSON.parse(text);
            } catch {
              /* keep the text */
            }
            finish(() => resolve({ status, body }));
          });
        },
      );
      const timer = setTimeout(() => {
        finish(() => reject(new TimeoutError(`timeout after ${this.effective.timeoutMs} ms`)));
        req.destroy();
      }, this.effective.timeoutMs);
      req.on('error', (err) => finish(() => reject(err)));
      req.end(payload);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
