/** dbman's internal operations: POST /api/internal/v1/db/<operation>, JSON in, JSON out. */
import bcrypt from 'bcryptjs';
import type pg from 'pg';
import { z } from 'zod';

export interface OpResult {
  status: number;
  body: unknown;
}
export type Operation = (input: unknown) => Promise<OpResult>;

export class OpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = z.string().regex(UUID_RE, 'must be a UUID');
const nonEmpty = z.string().trim().min(1, 'is required');
const tenant = nonEmpty;

// Input schemas, built once (zod compiles a schema on its first parse).
const In_usersAuthenticate = z.object({ tenant_id: tenant, email: nonEmpty, password: nonEmpty });
const In_usersCreate = z.object({
  tenant_id: tenant,
  org_id: nonEmpty,
  email: nonEmpty,
  password: nonEmpty,
  name: nonEmpty,
  title: z.string().optional(),
  role: z.enum(['admin', 'manager', 'user']).default('user'),
  status: z.string().trim().min(1).default('active'),
});
const In_orgUnitsList = z.object({ tenant_id: tenant });
const In_orgUnitsCreate = z.object({ tenant_id: tenant, name: nonEmpty });
const In_rooms = z.object({
  tenant_id: tenant,
  name: nonEmpty,
  room_type: z.enum(['group', 'direct']).default('group'),
  created_by: uuid,
  member_ids: z.array(z.string()).default([]),
});
const In_roomsList = z.object({
  tenant_id: tenant,
  user_id: uuid,
  limit: z.unknown().optional(),
  cursor: z.unknown().optional(),
});
const In_roomsMembers = z.object({ tenant_id: tenant, room_id: uuid, user_id: z.string() });
const In_roomsMembersCheck = z.object({ tenant_id: tenant, room_id: z.string(), user_id: z.string() });
const In_messages = z.object({
  /** Chosen by the caller so that a retried write (next node after a timeout) stores the message once. */
  id: uuid.optional(),
  tenant_id: tenant,
  room_id: uuid,
  sender_id: uuid,
  body: nonEmpty,
  meta_json: z.record(z.string(), z.unknown()).default({}),
});
const In_messagesList = z.object({
  tenant_id: tenant,
  room_id: uuid,
  limit: z.unknown().optional(),
  cursor: z.unknown().optional(),
});
const In_messagesUnreadCount = z.object({ tenant_id: tenant, room_id: uuid, user_id: uuid });
const In_messagesRead = z.object({ tenant_id: tenant, room_id: uuid, user_id: uuid, message_id: z.string() });

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

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new OpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return r.data;
}

const MESSAGE_COLUMNS = `tenant_id, id::text AS id, room_id::text AS room_id, sender_id::text AS sender_id, body, meta_json,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

interface MessageRow {
  seq?: string;
  tenant_id: string;
  id: string;
  room_id: string;
  sender_id: string;
  body: string;
  meta_json: unknown;
  created_at: string;
}

function messageJson(r: MessageRow) {
  return {
    tenant_id: r.tenant_id,
    id: r.id,
    room_id: r.room_id,
    sender_id: r.sender_id,
    body: r.body,
    meta_json: r.meta_json,
    created_at: r.created_at,
  };
}

function page<R extends { seq: string }, J>(rows: R[], limit: number, toJson: (r: R) => J) {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(toJson);
  const out: { items: J[]; next_cursor?: string } = { items };
  if (more) out.next_cursor = encodeCursor(rows[limit - 1]!.seq);
  return out;
}

export interface OpsOptions {
  bcryptCost: number;
  /** Called after a message commit: true → answer 503 although committed (flaw retry-duplicates). */
  failAfterMessageCommit?: () => boolean;
}

export function createOperations(pool: pg.Pool, opts: OpsOptions): Record<string, Operation> {
  const q = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => pool.query<R>(text, values);
  /** A named (prepared once per connection) statement, for the hot paths. */
  const qp = <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) => pool.query<R>({ name, text, values });

  return {
    'tenants/list': async () => {
      const r = await q<{ id: string; name: string }>('SELECT id, name FROM tenants ORDER BY id', []);
      return { status: 200, body: { items: r.rows } };
    },

    'users/authenticate': async (input) => {
      const b = parse(In_usersAuthenticate, input);
      const r = await q<{ id: string; tenant_id: string; role: string; password_hash: string; status: string }>(
        `SELECT id::text AS id, tenant_id, role, password_hash, status FROM users WHERE tenant_id = $1 AND lower(email) = lower($2)`,
        [b.tenant_id, b.email],
      );
      const u = r.rows[0];
      const ok = u !== undefined && u.status === 'active' && (await bcrypt.compare(b.password, u.password_hash));
      if (!ok) return { status: 401, body: { error: 'invalid credentials' } };
      return { status: 200, body: { user_id: u.id, tenant_id: u.tenant_id, role: u.role } };
    },

    'users/create': async (input) => {
      const b = parse(In_usersCreate, input);
      if (!UUID_RE.test(b.org_id)) return { status: 400, body: { error: 'org unit not found' } };
      const org = await q('SELECT 1 FROM org_units WHERE id = $1 AND tenant_id = $2', [b.org_id, b.tenant_id]);
      if (org.rowCount === 0) return { status: 400, body: { error: 'org unit not found' } };
      const hash = await bcrypt.hash(b.password, opts.bcryptCost);
      try {
        const r = await q<{ id: string }>(
          `INSERT INTO users (tenant_id, org_id, email, password_hash, name, title, role, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id`,
          [b.tenant_id, b.org_id, b.email, hash, b.name, b.title ?? null, b.role, b.status],
        );
        return { status: 201, body: { id: r.rows[0]!.id } };
      } catch (err) {
        if ((err as { code?: string }).code === '23505') return { status: 409, body: { error: 'email already exists' } };
        throw err;
      }
    },

    'org-units/list': async (input) => {
      const b = parse(In_orgUnitsList, input);
      const r = await q<{ id: string; name: string; created_at: string }>(
        `SELECT id::text AS id, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
         FROM org_units WHERE tenant_id = $1 ORDER BY created_at, id`,
        [b.tenant_id],
      );
      return { status: 200, body: { items: r.rows } };
    },

    'org-units/create': async (input) => {
      const b = parse(In_orgUnitsCreate, input);
      const r = await q<{ id: string }>('INSERT INTO org_units (tenant_id, name) VALUES ($1, $2) RETURNING id::text AS id', [
        b.tenant_id,
        b.name,
      ]);
      return { status: 201, body: { id: r.rows[0]!.id } };
    },

    rooms: async (input) => {
      const b = parse(In_rooms, input);
      const members = [...new Set([b.created_by, ...b.member_ids])];
      if (members.some((m) => !UUID_RE.test(m))) return { status: 400, body: { error: 'member not found' } };
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const found = await client.query('SELECT id FROM users WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [b.tenant_id, members]);
        if (found.rowCount !== members.length) {
          await client.query('ROLLBACK');
          return { status: 400, body: { error: 'member not found' } };
        }
        const r = await client.query<{ id: string; seq: string }>(
          'INSERT INTO rooms (tenant_id, name, room_type, created_by) VALUES ($1, $2, $3, $4) RETURNING id::text AS id, seq',
          [b.tenant_id, b.name, b.room_type, b.created_by],
        );
        const room = r.rows[0]!;
        await client.query(
          `INSERT INTO room_members (room_id, user_id, tenant_id, room_seq)
           SELECT $1, u, $2, $3 FROM unnest($4::uuid[]) AS u`,
          [room.id, b.tenant_id, room.seq, members],
        );
        await client.query('COMMIT');
        return { status: 201, body: { id: room.id } };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    'rooms/list': async (input) => {
      const b = parse(In_roomsList, input);
      const limit = normalizeLimit(b.limit);
      const after = decodeCursor(b.cursor);
      const r = await q<{ seq: string; id: string; name: string; room_type: string; created_by: string; created_at: string }>(
        `SELECT m.room_seq AS seq, r.id::text AS id, r.name, r.room_type, r.created_by::text AS created_by,
                to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
         FROM room_members m JOIN rooms r ON r.id = m.room_id
         WHERE m.tenant_id = $1 AND m.user_id = $2 AND ($3::bigint IS NULL OR m.room_seq < $3::bigint)
         ORDER BY m.room_seq DESC LIMIT $4`,
        [b.tenant_id, b.user_id, after, limit + 1],
      );
      return { status: 200, body: page(r.rows, limit, ({ seq: _s, ...rest }) => rest) };
    },

    'rooms/members': async (input) => {
      const b = parse(In_roomsMembers, input);
      const room = await q<{ seq: string }>('SELECT seq FROM rooms WHERE id = $1 AND tenant_id = $2', [b.room_id, b.tenant_id]);
      if (room.rowCount === 0) return { status: 404, body: { error: 'room not found' } };
      if (!UUID_RE.test(b.user_id)) return { status: 404, body: { error: 'user not found' } };
      const user = await q('SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2', [b.user_id, b.tenant_id]);
      if (user.rowCount === 0) return { status: 404, body: { error: 'user not found' } };
      await q(
        `INSERT INTO room_members (room_id, user_id, tenant_id, room_seq) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, user_id) DO NOTHING`,
        [b.room_id, b.user_id, b.tenant_id, room.rows[0]!.seq],
      );
      return { status: 200, body: { ok: true } };
    },

    'rooms/members/check': async (input) => {
      const b = parse(In_roomsMembersCheck, input);
      if (!UUID_RE.test(b.room_id) || !UUID_RE.test(b.user_id)) return { status: 200, body: { is_member: false } };
      const r = await qp('members_check', 'SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 AND tenant_id = $3', [
        b.room_id,
        b.user_id,
        b.tenant_id,
      ]);
      return { status: 200, body: { is_member: (r.rowCount ?? 0) > 0 } };
    },

    messages: async (input) => {
      const b = parse(In_messages, input);
      // retry-duplicates models the non-idempotent write of the contract: the node ignores the caller's id, so a
      // write committed here and retried on the next node is stored twice.
      const id = opts.failAfterMessageCommit ? undefined : b.id;
      let row: MessageRow | undefined;
      if (id === undefined) {
        const r = await qp<MessageRow>(
          'messages_insert',
          `INSERT INTO messages (tenant_id, room_id, sender_id, body, meta_json) VALUES ($1, $2, $3, $4, $5)
           RETURNING ${MESSAGE_COLUMNS}`,
          [b.tenant_id, b.room_id, b.sender_id, b.body, JSON.stringify(b.meta_json)],
        );
        row = r.rows[0];
      } else {
        // Idempotent by id: a retry of a write that another node (or this one, frozen and resumed) committed
        // returns the stored message instead of a second copy.
        const r = await qp<MessageRow>(
          'messages_insert_idempotent',
          `INSERT INTO messages (id, tenant_id, room_id, sender_id, body, meta_json) VALUES ($6, $1, $2, $3, $4, $5)
           ON CONFLICT (id) DO NOTHING RETURNING ${MESSAGE_COLUMNS}`,
          [b.tenant_id, b.room_id, b.sender_id, b.body, JSON.stringify(b.meta_json), id],
        );
        row = r.rows[0];
        if (row === undefined) {
          const existing = await qp<MessageRow>(
            'messages_by_id',
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND tenant_id = $2 AND room_id = $3 AND sender_id = $4`,
            [id, b.tenant_id, b.room_id, b.sender_id],
          );
          row = existing.rows[0];
          if (row === undefined) return { status: 409, body: { error: 'message id already used' } };
        }
      }
      if (opts.failAfterMessageCommit?.()) {
        return { status: 503, body: { error: 'injected failure after commit (retry-duplicates)' } };
      }
      return { status: 201, body: messageJson(row!) };
    },

    'messages/list': async (input) => {
      const b = parse(In_messagesList, input);
      const limit = normalizeLimit(b.limit);
      const before = decodeCursor(b.cursor);
      const r = await qp<MessageRow & { seq: string }>(
        'messages_list',
        `SELECT seq, ${MESSAGE_COLUMNS} FROM messages
         WHERE room_id = $1 AND tenant_id = $2 AND ($3::bigint IS NULL OR seq < $3::bigint)
         ORDER BY seq DESC LIMIT $4`,
        [b.room_id, b.tenant_id, before, limit + 1],
      );
      return { status: 200, body: page(r.rows, limit, messageJson) };
    },

    'messages/unread-count': async (input) => {
      const b = parse(In_messagesUnreadCount, input);
      const r = await q<{ n: string }>(
        `SELECT count(*)::text AS n FROM messages msg
         JOIN room_members m ON m.room_id = msg.room_id AND m.user_id = $2
         WHERE msg.room_id = $1 AND msg.tenant_id = $3 AND msg.seq > m.last_read_seq AND msg.sender_id <> $2`,
        [b.room_id, b.user_id, b.tenant_id],
      );
      return { status: 200, body: { room_id: b.room_id, user_id: b.user_id, unread_count: Number(r.rows[0]?.n ?? 0) } };
    },

    'messages/read': async (input) => {
      const b = parse(In_messagesRead, input);
      if (!UUID_RE.test(b.message_id)) return { status: 404, body: { error: 'message not found' } };
      const r = await q(
        `UPDATE room_members m SET last_read_seq = GREATEST(m.last_read_seq, msg.seq)
         FROM messages msg
         WHERE msg.id = $4 AND msg.room_id = $1 AND msg.tenant_id = $3 AND m.room_id = $1 AND m.user_id = $2`,
        [b.room_id, b.user_id, b.tenant_id, b.message_id],
      );
      if (r.rowCount === 0) return { status: 404, body: { error: 'message not found' } };
      return { status: 200, body: { ok: true } };
    },
  };
}
