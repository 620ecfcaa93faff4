/**
 * dbman operations on messages: `messages` (the write, idempotent by the caller's id; the retry-duplicates flaw
 * makes it non-idempotent and answers 503 after commit), `messages/list`, `messages/unread-count`, `messages/read`.
 */
import { z } from 'zod';
import { UUID_RE, decodeCursor, nonEmpty, normalizeLimit, page, parse, tenant, uuid, type OpDb, type Operations } from './common.js';

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

export function messageOperations({ q, qp, opts }: OpDb): Operations {
  return {
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
      // short-pages caps the rows fetched (the caller asks limit + 1 to see a next page, so a capped page has no
      // cursor); list-lag hides the newest messages
      const rows = opts.pageCap !== undefined ? Math.min(limit + 1, opts.pageCap) : limit + 1;
      const r = await qp<MessageRow & { seq: string }>(
        'messages_list',
        `SELECT seq, ${MESSAGE_COLUMNS} FROM messages
         WHERE room_id = $1 AND tenant_id = $2 AND ($3::bigint IS NULL OR seq < $3::bigint)
           AND ($5::float8 IS NULL OR created_at <= now() - $5::float8 * interval '1 millisecond')
         ORDER BY seq DESC LIMIT $4`,
        [b.room_id, b.tenant_id, before, rows, opts.listLagMs ?? null],
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
