/** dbman operations for session: `sessions/status/update` (status upsert), `sessions/login` (device session upsert). */
import { z } from 'zod';
import { isoUtc, nonEmpty, parse, tenant, uuid, type OpDb, type Operations } from './common.js';

export const SESSION_STATUSES = ['online', 'offline', 'busy', 'away', 'meeting'] as const;

const In_statusUpdate = z.object({
  tenant_id: tenant,
  user_id: uuid,
  status: z.enum(SESSION_STATUSES),
  status_note: z.string().max(500).optional(),
});
const In_sessionLogin = z.object({
  tenant_id: tenant,
  user_id: uuid,
  device_id: nonEmpty.max(200),
  device_name: z.string().max(200).optional(),
  allowed_tenants: z.array(nonEmpty).max(100).default([]),
});

const SESSION_COLUMNS = `id::text AS session_id, tenant_id, user_id::text AS user_id, device_id, device_name, allowed_tenants,
  ${isoUtc('created_at')} AS created_at, ${isoUtc('last_seen_at')} AS last_seen_at`;

export function sessionOperations({ qp }: OpDb): Operations {
  return {
    'sessions/status/update': async (input) => {
      const b = parse(In_statusUpdate, input);
      await qp(
        'status_upsert',
        `INSERT INTO user_status (tenant_id, user_id, status, status_note) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET status = EXCLUDED.status, status_note = EXCLUDED.status_note, updated_at = now()`,
        [b.tenant_id, b.user_id, b.status, b.status_note ?? null],
      );
      return { status: 200, body: { ok: true } };
    },

    'sessions/login': async (input) => {
      const b = parse(In_sessionLogin, input);
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
  };
}
