/**
 * orghub: login, users, org units. Every DB access goes through the dbman client.
 * Env: PORT (8091), HOST (127.0.0.1), JWT_SECRET (required), JWT_TTL_S (86400), the dbman client's variables
 * (DBMAN_ENDPOINTS, DBMAN_ENDPOINT, DBMAN_HTTP_TIMEOUT_MS, DBMAN_FAIL_THRESHOLD, DBMAN_COOLDOWN_MS), TARGET_FLAWS.
 */
import { z } from 'zod';
import { flawsForService, parseFlaws } from '../flaws.js';
import { parseEnv, portVar, runMain } from '../shared/env.js';
import { HttpError, bodyObject, createServer, optString, reqString, stopOnSignals } from '../shared/http.js';
import { authenticate, callDbman, dbmanFromEnv, expectStatus, jwtFromEnv } from '../shared/service.js';

const Env = z.object({ PORT: portVar(8091), HOST: z.string().min(1).default('127.0.0.1') });

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env);
  const jwt = jwtFromEnv(process.env);
  const dbman = dbmanFromEnv(process.env, 'orghub');
  // users-create-500: like the real system's current version, the password is not passed on to dbman
  const dropPassword = flawsForService(parseFlaws(process.env['TARGET_FLAWS']), 'orghub').includes('users-create-500');
  const app = createServer();

  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/api/v1/auth/login', async (req, reply) => {
    const b = bodyObject(req.body);
    const tenantId = reqString(b, 'tenant_id');
    const email = reqString(b, 'email');
    const password = reqString(b, 'password');
    const res = await callDbman<{ user_id: string; tenant_id: string; role: 'admin' | 'manager' | 'user' }>(dbman, 'users/authenticate', {
      tenant_id: tenantId,
      email,
      password,
    });
    if (res.status === 401) throw new HttpError(401, 'invalid credentials');
    expectStatus(res, 200);
    const u = res.body;
    const token = await jwt.sign({ userId: u.user_id, tenantId: u.tenant_id, role: u.role });
    return reply.code(200).send({ access_token: token, user_id: u.user_id, tenant_id: u.tenant_id, role: u.role });
  });

  app.post('/api/v1/users', async (req, reply) => {
    const p = await authenticate(jwt, req, ['admin', 'manager']);
    const b = bodyObject(req.body);
    const input = {
      tenant_id: p.tenantId,
      org_id: reqString(b, 'org_id'),
      email: reqString(b, 'email'),
      password: reqString(b, 'password'),
      name: reqString(b, 'name'),
      title: optString(b, 'title'),
      role: optString(b, 'role'),
      status: optString(b, 'status'),
    };
    if (!/^[^@\s]+@[^@\s]+$/.test(input.email)) throw new HttpError(400, 'email is invalid');
    if (input.role !== undefined && !['admin', 'manager', 'user'].includes(input.role)) {
      throw new HttpError(400, 'role must be admin, manager or user');
    }
    if (input.role === 'admin' && p.role !== 'admin') throw new HttpError(403, 'forbidden');
    const res = await callDbman<{ id: string }>(dbman, 'users/create', dropPassword ? { ...input, password: undefined } : input);
    expectStatus(res, 201);
    return reply.code(201).send({ id: res.body.id });
  });

  app.get('/api/v1/org-units', async (req) => {
    const p = await authenticate(jwt, req, ['admin', 'manager']);
    const res = await callDbman(dbman, 'org-units/list', { tenant_id: p.tenantId });
    expectStatus(res, 200);
    return res.body;
  });

  app.post('/api/v1/org-units', async (req, reply) => {
    const p = await authenticate(jwt, req, ['admin', 'manager']);
    const b = bodyObject(req.body);
    const res = await callDbman<{ id: string }>(dbman, 'org-units/create', { tenant_id: p.tenantId, name: reqString(b, 'name') });
    expectStatus(res, 201);
    return reply.code(201).send({ id: res.body.id });
  });

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`orghub listening on http://${env.HOST}:${env.PORT} dbman=${dbman.effective.endpoints.join(',')}\n`);
  stopOnSignals(async () => {
    await app.close();
    dbman.close();
  }, { app });
}

runMain('orghub', main);
