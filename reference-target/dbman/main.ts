/**
 * A dbman node: the only component that talks to PostgreSQL. Health: /health/live, /health/ready, /health.
 * Internal API: POST /api/internal/v1/db/<operation>. SIGTERM: not ready at once, finish in-flight, exit.
 *
 * Env: PORT (8082), HOST (127.0.0.1), DATABASE_URL (required), DB_POOL_MAX (10), BCRYPT_COST (10),
 * DBMAN_READY_TIMEOUT_MS (1000), DBMAN_DRAIN_DELAY_MS (0), DBMAN_NODE_NAME, TARGET_FLAWS,
 * TARGET_FLAW_DUPLICATE_SHARE (0.05), TARGET_FLAW_NOT_SERVING_MS (5000), TARGET_FLAW_SLOW_MS (50).
 */
import pg from 'pg';
import { z } from 'zod';
import { DEFAULT_LIST_LAG_MS, DEFAULT_NOT_SERVING_MS, DEFAULT_PAGE_CAP, DEFAULT_SLOW_MS, flawsForService, parseDuplicateShare, parseEvery, parseFlaws } from '../flaws.js';
import { ConfigError, intVar, parseEnv, portVar, runMain } from '../shared/env.js';
import { createServer, stopOnSignals } from '../shared/http.js';
import { OpError, createOperations } from './ops.js';

const Env = z.object({
  PORT: portVar(8082),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOL_MAX: intVar(10, 1, 200),
  BCRYPT_COST: intVar(10, 4, 15),
  DBMAN_READY_TIMEOUT_MS: intVar(1000, 50, 60_000),
  DBMAN_DRAIN_DELAY_MS: intVar(0, 0, 60_000),
  DBMAN_NODE_NAME: z.string().default('dbman'),
});

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env);
  let flaws;
  let share;
  let notServingMs;
  let slowMs = 0;
  let pageCap: number | undefined;
  let listLagMs: number | undefined;
  try {
    flaws = flawsForService(parseFlaws(process.env['TARGET_FLAWS']), 'dbman');
    share = parseDuplicateShare(process.env['TARGET_FLAW_DUPLICATE_SHARE']);
    notServingMs = parseEvery('TARGET_FLAW_NOT_SERVING_MS', process.env['TARGET_FLAW_NOT_SERVING_MS'], DEFAULT_NOT_SERVING_MS);
    if (flaws.includes('slow-dbman')) slowMs = parseEvery('TARGET_FLAW_SLOW_MS', process.env['TARGET_FLAW_SLOW_MS'], DEFAULT_SLOW_MS);
    if (flaws.includes('short-pages')) pageCap = parseEvery('TARGET_FLAW_PAGE_CAP', process.env['TARGET_FLAW_PAGE_CAP'], DEFAULT_PAGE_CAP);
    if (flaws.includes('list-lag')) listLagMs = parseEvery('TARGET_FLAW_LIST_LAG_MS', process.env['TARGET_FLAW_LIST_LAG_MS'], DEFAULT_LIST_LAG_MS);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const readyLies = flaws.includes('ready-lies');
  const duplicates = flaws.includes('retry-duplicates');
  // validation-500: a validation error (OpError 400, or a 400 the operation answers) is answered 500;
  // users-create-500: only users/create's.
  const validationAs500 = (op: string) => flaws.includes('validation-500') || (flaws.includes('users-create-500') && op === 'users/create');
  const notServingUntil = freezeDetector(flaws.includes('ready-not-serving'), notServingMs);

  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: env.DB_POOL_MAX,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: env.DBMAN_NODE_NAME,
  });
  pool.on('error', (err) => process.stderr.write(`${env.DBMAN_NODE_NAME}: idle pg client error: ${err.message}\n`));

  const ops = createOperations(pool, {
    bcryptCost: env.BCRYPT_COST,
    failAfterMessageCommit: duplicates ? () => Math.random() < share : undefined,
    pageCap,
    listLagMs,
    membershipRoomOnly: flaws.includes('membership-room-only'),
  });

  let draining = false;
  const dbAnswers = async (): Promise<string | null> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pool.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`database did not answer within ${env.DBMAN_READY_TIMEOUT_MS} ms`)), env.DBMAN_READY_TIMEOUT_MS);
        }),
      ]);
      return null;
    } catch (err) {
      return (err as Error).message || 'database error';
    } finally {
      clearTimeout(timer);
    }
  };

  const app = createServer();
  app.get('/health/live', async () => ({ status: 'alive' }));
  const ready = async (_req: unknown, reply: import('fastify').FastifyReply) => {
    if (draining) return reply.code(503).send({ status: 'not_ready', error: 'draining' });
    // ready-lies answers at once: waiting on a cut database first made HAProxy's 1 s check time out, and the
    // balancer took the lying node out after all (the docker db-cut test saw it 0.49 s after inject)
    if (readyLies) return reply.code(200).send({ status: 'ready' });
    const err = await dbAnswers();
    if (err !== null) return reply.code(503).send({ status: 'not_ready', error: err });
    return reply.code(200).send({ status: 'ready' });
  };
  app.get('/health/ready', ready);
  app.get('/health', ready);

  let inFlight = 0;
  let refuseNew = false;
  app.post('/api/internal/v1/db/*', async (req, reply) => {
    // Draining past the drain delay: new work gets a 503, so the client moves on at once; nothing was committed.
    if (refuseNew) return reply.code(503).send({ error: 'draining' });
    const op = (req.params as { '*': string })['*'].replace(/\/+$/, '');
    const fn = ops[op];
    if (!fn) return reply.code(404).send({ error: `unknown operation ${op}` });
    // ready-not-serving: just resumed from a freeze, the node's own look-ups still fail (ready says 200 meanwhile)
    if (Date.now() < notServingUntil()) return reply.code(500).send({ error: 'tenant look-up failed: every dbman endpoint in cooldown' });
    inFlight++;
    try {
      if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
      const res = await fn(req.body);
      // validation-500 covers the 400s an operation answers itself (an org unit that does not exist) too
      return reply.code(res.status === 400 && validationAs500(op) ? 500 : res.status).send(res.body);
    } catch (err) {
      if (err instanceof OpError) return reply.code(err.status === 400 && validationAs500(op) ? 500 : err.status).send({ error: err.message });
      process.stderr.write(`${env.DBMAN_NODE_NAME}: ${op}: ${(err as Error).message}\n`);
      return reply.code(500).send({ error: 'database error' });
    } finally {
      inFlight--;
    }
  });

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`${env.DBMAN_NODE_NAME} listening on http://${env.HOST}:${env.PORT} flaws=${flaws.join(',') || '-'}\n`);

  // SIGTERM: not ready at once; serve new requests for DBMAN_DRAIN_DELAY_MS, then refuse new ones with 503;
  // wait for the requests in flight; close; exit. (A stuck database: stopOnSignals exits after 15 s anyway.)
  stopOnSignals(async () => {
    draining = true;
    process.stdout.write(`${env.DBMAN_NODE_NAME}: draining (${inFlight} in flight)\n`);
    if (env.DBMAN_DRAIN_DELAY_MS > 0) await new Promise((r) => setTimeout(r, env.DBMAN_DRAIN_DELAY_MS));
    refuseNew = true;
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    await app.close();
    await pool.end().catch(() => undefined);
    process.stdout.write(`${env.DBMAN_NODE_NAME}: stopped\n`);
  });
}

/**
 * Flaw ready-not-serving: a 100 ms timer notices when the event loop stood still for over 1 s (the process was
 * frozen: SIGSTOP, a cgroup freeze) and makes the node fail its internal API for `ms` after it resumes. Returns the
 * end of the current not-serving span (0: serving). Off: always 0.
 */
function freezeDetector(on: boolean, ms: number): () => number {
  let until = 0;
  if (!on) return () => 0;
  let last = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (now - last > 1000) until = now + ms;
    last = now;
  }, 100).unref();
  return () => until;
}

runMain('dbman', main);
