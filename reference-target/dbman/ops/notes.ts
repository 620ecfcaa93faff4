/** dbman operations on notes between users (session's notes): `notes/create`, `notes/inbox`, `notes/read`. */
import { z } from 'zod';
import { UUID_RE, isoUtc, nonEmpty, normalizeLimit, parse, tenant, uuid, type OpDb, type Operations } from './common.js';

const In_notesCreate = z.object({ tenant_id: tenant, sender_id: uuid, recipient_id: z.string(), body: nonEmpty.max(10_000) });
const In_notesInbox = z.object({ tenant_id: tenant, user_id: uuid, limit: z.unknown().optional() });
const In_notesRead = z.object({ tenant_id: tenant, user_id: uuid, note_id: z.string() });

const NOTE_COLUMNS = `id::text AS id, tenant_id, sender_id::text AS sender_id, recipient_id::text AS recipient_id, body,
  ${isoUtc('read_at')} AS read_at, ${isoUtc('created_at')} AS created_at`;

export function noteOperations({ qp }: OpDb): Operations {
  return {
    'notes/create': async (input) => {
      const b = parse(In_notesCreate, input);
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
      const b = parse(In_notesInbox, input);
      const r = await qp(
        'notes_inbox',
        `SELECT ${NOTE_COLUMNS} FROM notes WHERE tenant_id = $1 AND recipient_id = $2 ORDER BY seq DESC LIMIT $3`,
        [b.tenant_id, b.user_id, normalizeLimit(b.limit)],
      );
      return { status: 200, body: { items: r.rows } };
    },

    'notes/read': async (input) => {
      const b = parse(In_notesRead, input);
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
  };
}
