/**
 * What every dbman operation shares: the result shape, the 400 for bad input (first zod issue, named by its
 * path), the common field schemas, paging (`limit`, opaque `v1:<seq>` cursors) and the query helpers.
 */
import type pg from 'pg';
import { z } from 'zod';

export interface OpResult {
  status: number;
  body: unknown;
}
export type Operation = (input: unknown) => Promise<OpResult>;
export type Operations = Record<string, Operation>;

export class OpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface OpsOptions {
  bcryptCost: number;
  /** Called after a message commit: true → answer 503 although committed (flaw retry-duplicates). */
  failAfterMessageCommit?: () => boolean;
  /** short-pages: a message page holds at most this many rows, whatever the limit (no cursor after a short page). */
  pageCap?: number | undefined;
  /** list-lag: the message list shows a message only this long after it was stored. */
  listLagMs?: number | undefined;
  /** membership-room-only: the membership check asks only whether the room exists. */
  membershipRoomOnly?: boolean;
}

/** The pool, its two query forms and the node's options, handed to each domain's operations. */
export interface OpDb {
  pool: pg.Pool;
  q<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
  /** A named (prepared once per connection) statement, for the hot paths. */
  qp<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
  opts: OpsOptions;
}

export function opDb(pool: pg.Pool, opts: OpsOptions): OpDb {
  return {
    pool,
    q: (text, values) => pool.query(text, values),
    qp: (name, text, values) => pool.query({ name, text, values }),
    opts,
  };
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid = z.string().regex(UUID_RE, 'must be a UUID');
export const nonEmpty = z.string().trim().min(1, 'is required');
export const tenant = nonEmpty;

/** Input schemas are built once, at module load (zod compiles a schema on its first parse). */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new OpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

/** `limit` defaults to 50; values outside 1..200 fall back to 50. */
export function normalizeLimit(raw: unknown): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 200 ? n : 50;
}

export function encodeCursor(seq: string): string {
  return Buffer.from(`v1:${seq}`).toString('base64url');
}

/** The sequence number behind a cursor, or null for none; OpError 400 for a bad one. */
export function decodeCursor(cursor: unknown): string | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  if (typeof cursor !== 'string') throw new OpError(400, 'invalid cursor');
  const m = /^v1:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new OpError(400, 'invalid cursor');
  return m[1]!;
}

/** One page of `rows` fetched with `LIMIT limit + 1`: `next_cursor` only when there is more. */
export function page<R extends { seq: string }, J>(rows: R[], limit: number, toJson: (r: R) => J) {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(toJson);
  const out: { items: J[]; next_cursor?: string } = { items };
  if (more) out.next_cursor = encodeCursor(rows[limit - 1]!.seq);
  return out;
}

/** SQL for a timestamp column as ISO 8601 UTC text with microseconds (`2026-01-02T03:04:05.678901Z`). */
export function isoUtc(col: string): string {
  return `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
