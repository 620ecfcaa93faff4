/**
 * tenanthub: the tenant list with each tenant's deployment and dedicated-infrastructure settings (secret keys
 * included, as in the real system). Admin or manager only. Every DB access goes through the dbman client; a
 * dbman failure answers 500 {"error"}.
 *
 * Env: PORT (8092), HOST (127.0.0.1), JWT_SECRET (required), the dbman client's variables, TARGET_FLAWS
 * (tenants-page: the list as a page {"items"} instead of an array).
 */
import { z } from 'zod';
import { parseEnv, portVar, runMain } from '../shared/env.js';
import { flawsForService, parseFlaws } from '../flaws.js';
import { HttpError, createServer, stopOnSignals } from '../shared/http.js';
import { authenticate, callDbman, dbmanFromEnv, expectStatus, jwtFromEnv } from '../shared/service.js';

const Env = z.object({ PORT: portVar(8092), HOST: z.string().min(1).default('127.0.0.1') });

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env);
  const jwt = jwtFromEnv(process.env);
  const dbman = dbmanFromEnv(process.env, 'tenanthub');
  const pageFlaw = flawsForService(parseFlaws(process.env['TARGET_FLAWS']), 'tenanthub').includes('tenants-page');
  const app = createServer();

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/api/v1/tenants', async (req) => {
    await authenticate(jwt, req, ['admin', 'manager']);
    let res;
    try {
      res = await callDbman<{ items: unknown[] }>(dbman, 'tenants/settings/list', {});
    } catch (err) {
      if (err instanceof HttpError && err.status === 503) throw new HttpError(500, 'failed to list tenants');
      throw err;
    }
    expectStatus(res, 200);
    return pageFlaw ? { items: res.body.items } : res.body.items; // an array, not a page (flaw tenants-page: a page)
  });

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`tenanthub listening on http://${env.HOST}:${env.PORT} dbman=${dbman.effective.endpoints.join(',')}\n`);
  stopOnSignals(async () => {
    await app.close();
    dbman.close();
  }, { app });
}

runMain('tenanthub', main);
