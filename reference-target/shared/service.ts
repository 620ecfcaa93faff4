/** What chat and orghub share: the bearer check and calling dbman with errors mapped to HTTP. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DbmanClient, DbmanUnavailableError, dbmanClientConfigFromEnv, type DbmanResponse } from '../dbman-client/client.js';
import type { FlawService } from '../flaws.js';
import { ConfigError, parseEnv } from './env.js';
import { HttpError } from './http.js';
import { Jwt, bearerToken, type Principal, type Role } from './jwt.js';

const JwtEnv = z.object({
  JWT_SECRET: z.string().min(16, 'is required, at least 16 characters'),
  JWT_TTL_S: z.preprocess((v) => (v === undefined || v === '' ? 86400 : Number(v)), z.number().int().min(60).max(30 * 86400)),
});

export function jwtFromEnv(env: NodeJS.ProcessEnv): Jwt {
  const e = parseEnv(JwtEnv, env);
  return new Jwt(e.JWT_SECRET, e.JWT_TTL_S);
}

/** The dbman client of `service` from the contract's env variables; a bad value is a ConfigError (exit 2). */
export function dbmanFromEnv(env: NodeJS.ProcessEnv, service: FlawService): DbmanClient {
  try {
    return new DbmanClient(dbmanClientConfigFromEnv(env, service));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError((err as Error).message);
  }
}

/** The caller, from `Authorization: Bearer`; 401 `bearer token is required` / `invalid token`. */
export async function authenticate(jwt: Jwt, req: FastifyRequest, roles?: Role[]): Promise<Principal> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new HttpError(401, 'bearer token is required');
  const p = await jwt.verify(token);
  if (!p) throw new HttpError(401, 'invalid token');
  if (roles && !roles.includes(p.role)) throw new HttpError(403, 'forbidden');
  return p;
}

/** Calls dbman; when no endpoint answered → HttpError 503 (`unavailableMessage`). */
export async function callDbman<T = unknown>(
  client: DbmanClient,
  op: string,
  body: unknown,
  unavailableMessage = 'database unavailable',
): Promise<DbmanResponse<T>> {
  try {
    return await client.call<T>(op, body);
  } catch (err) {
    if (err instanceof DbmanUnavailableError) {
      process.stderr.write(`${err.message}\n`);
      throw new HttpError(503, unavailableMessage);
    }
    throw err;
  }
}

/** Throws HttpError with dbman's status and error text unless the status is the expected one. */
export function expectStatus(res: DbmanResponse, ...ok: number[]): void {
  if (ok.includes(res.status)) return;
  const msg = (res.body as { error?: unknown } | null)?.error;
  throw new HttpError(res.status >= 400 && res.status < 600 ? res.status : 500, typeof msg === 'string' ? msg : 'dbman error');
}
