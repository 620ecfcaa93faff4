/**
 * session: device sessions, status and notes. Every DB access goes through the dbman client.
 *
 * As the real session service does, every failure after the bearer check answers 400 {"error"}: bad input,
 * an unknown note, a dbman 4xx, and a dbman failure (no endpoint answered) too, never 5xx. The bearer check
 * itself answers 401 (`bearer token is required`, `invalid token`).
 *
 * Env: PORT (8090), HOST (127.0.0.1), JWT_SECRET (required), the dbman client's variables (DBMAN_ENDPOINTS,
 * DBMAN_ENDPOINT, DBMAN_HTTP_TIMEOUT_MS, DBMAN_FAIL_THRESHOLD, DBMAN_COOLDOWN_MS), TARGET_FLAWS (status-ok-on-failure:
 * a failed status update answers 200 {"ok": false}).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SESSION_STATUSES } from '../dbman/ops/sessions.js';
import { flawsForService, parseFlaws } from '../flaws.js';
import { parseEnv, portVar, runMain } from '../shared/env.js';
import { HttpError, bodyObject, createServer, optString, optStringArray, reqString, stopOnSignals } from '../shared/http.js';
import type { Principal } from '../shared/jwt.js';
import { authenticate, callDbman, dbmanFromEnv, expectStatus, jwtFromEnv } from '../shared/service.js';

const Env = z.object({ PORT: portVar(8090), HOST: z.string().min(1).default('127.0.0.1') });

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env);
  const jwt = jwtFromEnv(process.env);
  const dbman = dbmanFromEnv(process.env, 'session');
  const okOnFailure = flawsForService(parseFlaws(process.env['TARGET_FLAWS']), 'session').includes('status-ok-on-failure');
  const app = createServer();

  /** A handler of the authenticated API: 401 from the bearer check, 400 for every other failure. */
  const route =
    (fn: (p: Principal, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const p = await authenticate(jwt, req);
      try {
        return await fn(p, req, reply);
      } catch (err) {
        const msg = err instanceof HttpError ? err.message : 'session error';
        if (!(err instanceof HttpError)) process.stderr.write(`session: ${(err as Error).stack ?? String(err)}\n`);
        throw new HttpError(400, msg);
      }
    };

  app.get('/health', async () => ({ status: 'ok' }));

  app.patch(
    '/api/v1/session/status',
    route(async (p, req, reply) => {
      const b = bodyObject(req.body);
      const status = reqString(b, 'status');
      if (!(SESSION_STATUSES as readonly string[]).includes(status)) throw new HttpError(400, `status must be one of ${SESSION_STATUSES.join(', ')}`);
      const note = optString(b, 'status_note');
      try {
        const res = await callDbman(dbman, 'sessions/status/update', { tenant_id: p.tenantId, user_id: p.userId, status, status_note: note });
        expectStatus(res, 200);
      } catch (err) {
        // flaw status-ok-on-failure: a failure that looks like a success to anything that checks the status only
        if (okOnFailure) return reply.code(200).send({ ok: false, error: err instanceof HttpError ? err.message : 'session error' });
        throw err;
      }
      return { ok: true };
    }),
  );

  app.post(
    '/api/v1/session/login',
    route(async (p, req) => {
      const b = bodyObject(req.body);
      const input = {
        tenant_id: p.tenantId,
        user_id: p.userId,
        device_id: reqString(b, 'device_id'),
        device_name: optString(b, 'device_name'),
        allowed_tenants: optStringArray(b, 'allowed_tenants') ?? [],
      };
      const res = await callDbman(dbman, 'sessions/login', input);
      expectStatus(res, 200);
      return res.body;
    }),
  );

  app.post(
    '/api/v1/notes',
    route(async (p, req, reply) => {
      const b = bodyObject(req.body);
      const input = { tenant_id: p.tenantId, sender_id: p.userId, recipient_id: reqString(b, 'recipient_id'), body: reqString(b, 'body') };
      const res = await callDbman(dbman, 'notes/create', input);
      expectStatus(res, 201);
      return reply.code(201).send(res.body);
    }),
  );

  app.get(
    '/api/v1/notes/inbox',
    route(async (p, req) => {
      const limit = (req.query as Record<string, unknown>)['limit'];
      const res = await callDbman(dbman, 'notes/inbox', { tenant_id: p.tenantId, user_id: p.userId, limit });
      expectStatus(res, 200);
      return res.body;
    }),
  );

  app.post(
    '/api/v1/notes/:id/read',
    route(async (p, req) => {
      const noteId = (req.params as { id: string }).id;
      const res = await callDbman(dbman, 'notes/read', { tenant_id: p.tenantId, user_id: p.userId, note_id: noteId });
      expectStatus(res, 200);
      return { ok: true };
    }),
  );

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`session listening on http://${env.HOST}:${env.PORT} dbman=${dbman.effective.endpoints.join(',')}\n`);
  stopOnSignals(async () => {
    await app.close();
    dbman.close();
  }, { app });
}

runMain('session', main);
