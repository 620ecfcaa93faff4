/**
 * dbman operations on tenants: `tenants/list` (id and name), `tenants/settings/list` (tenanthub's list: every
 * tenant with its deployment and dedicated-infrastructure settings, secrets included).
 */
import { isoUtc, type OpDb, type Operations } from './common.js';

export function tenantOperations({ q, qp }: OpDb): Operations {
  return {
    'tenants/list': async () => {
      const r = await q<{ id: string; name: string }>('SELECT id, name FROM tenants ORDER BY id', []);
      return { status: 200, body: { items: r.rows } };
    },

    'tenants/settings/list': async () => {
      const r = await qp(
        'tenants_settings',
        `SELECT id AS tenant_id, name, deployment_mode, is_active, ${isoUtc('created_at')} AS created_at,
                dedicated_dsn, dedicated_redis_addr, dedicated_lavinmq_url, dedicated_minio_endpoint,
                dedicated_minio_access_key, dedicated_minio_secret_key, dedicated_minio_bucket
         FROM tenants ORDER BY id`,
        [],
      );
      return { status: 200, body: { items: r.rows } };
    },
  };
}
