/** dbman operations on rooms and their members: `rooms`, `rooms/list`, `rooms/members`, `rooms/members/check`. */
import { z } from 'zod';
import { UUID_RE, decodeCursor, nonEmpty, normalizeLimit, page, parse, tenant, uuid, type OpDb, type Operations } from './common.js';

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

export function roomOperations({ pool, q, qp, opts }: OpDb): Operations {
  // flaw membership-room-only: the check asks whether the room exists, not whether the user is in it
  const checkSql = opts.membershipRoomOnly
    ? 'SELECT 1 FROM rooms WHERE id = $1 AND $2::text IS NOT NULL AND tenant_id = $3'
    : 'SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 AND tenant_id = $3';
  return {
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
      const r = await qp('members_check', checkSql, [
        b.room_id,
        b.user_id,
        b.tenant_id,
      ]);
      return { status: 200, body: { is_member: (r.rowCount ?? 0) > 0 } };
    },
  };
}
