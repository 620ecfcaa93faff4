/**
 * dbman's internal operations for session (device sessions, status, notes) and tenanthub (the tenant list with
 * its deployment and dedicated-infrastructure settings). Same rules as the other operations: bad input 400,
 * unknown rows 404, database errors thrown (the node answers 500).
 */
import type pg from 'pg';
import { z } from 'zod';
import { OpError, normalizeLimit, type Operation } from './ops.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = z.string().regex(UUID_RE, 'must be a UUID');
const nonEmpty = z.string().trim().min(1, 'is required');

export const SESSION_STATUSES = ['online', 'offline', 'busy', 'away', 'meeting'] as const;

const In_statusUpdate = z.object({
  tenant_id: nonEmpty,
  user_id: uuid,
  status: z.enum(SESSION_STATUSES),
  status_note: z.string().max(500).optional(),
});
const In_sessionLogin = z.object({
  tenant_id: nonEmpty,
  user_id: uuid,
  device_id: nonEmpty.max(200),
  device_name: z.string().max(200).optional(),
  allowed_tenants: z.array(nonEmpty).max(100).default([]),
});
const In_notesCreate = z.object({ tenant_id: nonEmpty, sender_id: uuid, recipient_id: z.string(), body: nonEmpty.max(10_000) });
const In_notesInbox = z.object({ tenant_id: nonEmpty, user_id: uuid, limit: z.unknown().optional() });
const In_notesRead = z.object({ tenant_id: nonEmpty, user_id: uuid, note_id: z.string() });

function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new OpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const NOTE_COLUMNS = `id::text AS id, tenant_id, sender_id::text AS sender_id, recipient_id::text AS recipient_id, body,
  ${TS('read_at')} AS read_at, ${TS('created_at')} AS created_at`;
const SESSION_COLUMNS = `id::text AS session_id, tenant_id, user_id::text AS user_id, device_id, device_name, allowed_tenants,
  ${TS('created_at')} AS created_at, ${TS('last_seen_at')} AS last_seen_at`;

export function createSessionOperations(pool: pg.Pool): Record<string, Operation> {
  const qp = <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) => pool.query<R>({ name, text, values });
  return {
    'sessions/status/update': async (input) => {
      const b = parseInput(In_statusUpdate, input);
      await qp(
        'status_upsert',
        `INSERT INTO user_status (tenant_id, user_id, status, status_note) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET status = EXCLUDED.status, status_note = EXCLUDED.status_note, updated_at = now()`,
        [b.tenant_id, b.user_id, b.status, b.status_note ?? null],
      );
      return { status: 200, body: { ok: true } };
    },

    'sessions/login': async (input) => {
      const b = parseInput(In_sessionLogin, input);
      const r = await qp(
        'session_upsert',
        `INSERT INTO device_sessions (tenant_id, user_id, device_id, device_name, allowed_tenants) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id, device_id) DO UPDATE
           SET device_name = COALESCE(EXCLUDED.device_name, device_sessions.device_name), allowed_tenants = EXCLUDED.allowed_tenants, last_seen_at = now()
         RETURNING ${SESSION_COLUMNS}`,
        [b.tenant_id, b.user_id, b.device_id, b.device_name ?? null, b.allowed_tenants],
      );
      return { status: 200, body: r.rows[0] };
    },

    'notes/create': async (input) => {
      const b = parseInput(In_notesCreate, input);
      if (!UUID_RE.test(b.recipient_id)) return { status: 404, body: { error: 'recipient not found' } };
      const r = await qp(
        'notes_insert',
        `INSERT INTO notes (tenant_id, sender_id, recipient_id, body)
         SELECT $1, $2, u.id, $4 FROM users u WHERE u.id = $3 AND u.tenant_id = $1
         RETURNING ${NOTE_COLUMNS}`,
        [b.tenant_id, b.sender_id, b.recipient_id, b.body],
      );
      if (r.rowCount === 0) return { status: 404, body: { error: 'recipient not found' } };
      return { status: 201, body: r.rows[0] };
    },

    'notes/inbox': async (input) => {
      const b = parseInput(In_notesInbox, input);
      const r = await qp(
        'notes_inbox',
        `SELECT ${NOTE_COLUMNS} FROM notes WHERE tenant_id = $1 AND recipient_id = $2 ORDER BY seq DESC LIMIT $3`,
        [b.tenant_id, b.user_id, normalizeLimit(b.limit)],
      );
      return { status: 200, body: { items: r.rows } };
    },

    'notes/read': async (input) => {
      const b = parseInput(In_notesRead, input);
      if (!UUID_RE.test(b.note_id)) return { status: 404, body: { error: 'note not found' } };
      const r = await qp<{ recipient_id: string }>('notes_owner', 'SELECT recipient_id::text AS recipient_id FROM notes WHERE id = $1 AND tenant_id = $2', [
        b.note_id,
        b.tenant_id,
      ]);
      const note = r.rows[0];
      if (!note) return { status: 404, body: { error: 'note not found' } };
      if (note.recipient_id !== b.user_id) return { status: 403, body: { error: 'note access denied' } };
      await qp('notes_mark_read', 'UPDATE notes SET read_at = COALESCE(read_at, now()) WHERE id = $1', [b.note_id]);
      return { status: 200, body: { ok: true } };
    },

    /** tenanthub's list: every tenant with its deployment and dedicated-infrastructure settings, secrets included. */
    'tenants/settings/list': async () => {
      const r = await qp(
        'tenants_settings',
        `SELECT id AS tenant_id, name, deployment_mode, is_active, ${TS('created_at')} AS created_at,
                dedicated_dsn, dedicated_redis_addr, dedicated_lavinmq_url, dedicated_minio_endpoint,
                dedicated_minio_access_key, dedicated_minio_secret_key, dedicated_minio_bucket
         FROM tenants ORDER BY id`,
        [],
      );
      return { status: 200, body: { items: r.rows } };
    },
  };
}
