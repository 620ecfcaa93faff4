/** dbman operations on users: `users/authenticate` (bcrypt), `users/create`. */
import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { UUID_RE, nonEmpty, parse, tenant, type OpDb, type Operations } from './common.js';

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

export function userOperations({ q, opts }: OpDb): Operations {
  return {
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
  };
}
