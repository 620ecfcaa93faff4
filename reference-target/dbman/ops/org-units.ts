/** dbman operations on a tenant's org units: `org-units/list`, `org-units/create`. */
import { z } from 'zod';
import { nonEmpty, parse, tenant, type OpDb, type Operations } from './common.js';

const In_orgUnitsList = z.object({ tenant_id: tenant });
const In_orgUnitsCreate = z.object({ tenant_id: tenant, name: nonEmpty });

export function orgUnitOperations({ q }: OpDb): Operations {
  return {
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
  };
}
