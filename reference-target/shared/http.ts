/** Fastify set-up shared by the services: contract error bodies `{"error": "..."}`, no request logging. */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

import { SERVICE_PID_HEADER } from './pid-header.js';

export { SERVICE_PID_HEADER };

export function createServer(): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    keepAliveTimeout: 65_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    const e = err as { statusCode?: number; message?: string; code?: string };
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    const message =
      e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'invalid request body'
        : status === 400
          ? 'invalid request body'
          : status === 500
            ? 'internal error'
            : (e.message ?? 'error');
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/health')) reply.header(SERVICE_PID_HEADER, String(process.pid));
  });
  return app;
}

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ error: message });
}

/** The body as a plain object, or a 400. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid request body');
  return body as Record<string, unknown>;
}

/** A required non-empty string field, or 400 "<field> is required". */
export function reqString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') throw new HttpError(400, `${field} is required`);
  return v;
}

/** An optional string field: undefined when absent, 400 when present and not a string. */
export function optString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${field} must be a string`);
  return v;
}

/** An optional array of strings, or 400. */
export function optStringArray(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, `${field} must be an array of strings`);
  return v as string[];
}

/**
 * Installs SIGTERM/SIGINT handling that runs `onStop` once, then exits 0; exits anyway after `hardLimitMs`
 * (a frozen database must not keep a stopping process alive). With `app`, the connections still open
 * `graceMs` after the signal are closed (a keep-alive connection that was busy when the server closed would
 * otherwise hold `app.close()` until its keep-alive timeout): a stop takes at most about `graceMs`, well
 * within the 10 s a fault driver waits for it.
 */
export function stopOnSignals(onStop: () => Promise<void>, opts: { hardLimitMs?: number; app?: FastifyInstance; graceMs?: number } = {}): void {
  const { hardLimitMs = 15_000, app, graceMs = 2_000 } = opts;
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), hardLimitMs).unref();
    if (app) setTimeout(() => app.server.closeAllConnections(), graceMs).unref();
    onStop()
      .catch((err) => process.stderr.write(`shutdown: ${(err as Error).message}\n`))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
