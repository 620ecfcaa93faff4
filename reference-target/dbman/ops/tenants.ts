/** dbman operations on tenants: `tenants/list`. */
import type { OpDb, Operations } from './common.js';

export function tenantOperations({ q }: OpDb): Operations {
  return {
    'tenants/list': async () => {
      const r = await q<{ id: string; name: string }>('SELECT id, name FROM tenants ORDER BY id', []);
      return { status: 200, body: { items: r.rows } };
    },
  };
}
