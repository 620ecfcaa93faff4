/**
 * dbman's internal operations: POST /api/internal/v1/db/<operation>, JSON in, JSON out. The table is put
 * together from one module per domain under `ops/` (tenants, org units, users, rooms, messages, and session's
 * sessions and notes); what they share (result shape, input parsing, paging, query helpers) is `ops/common.ts`. A
 * new operation goes into its domain's module.
 */
import type pg from 'pg';
import { opDb, type Operations, type OpsOptions } from './ops/common.js';
import { messageOperations } from './ops/messages.js';
import { noteOperations } from './ops/notes.js';
import { orgUnitOperations } from './ops/org-units.js';
import { roomOperations } from './ops/rooms.js';
import { sessionOperations } from './ops/sessions.js';
import { tenantOperations } from './ops/tenants.js';
import { userOperations } from './ops/users.js';

export { OpError, type OpResult, type Operation, type OpsOptions } from './ops/common.js';

export function createOperations(pool: pg.Pool, opts: OpsOptions): Operations {
  const db = opDb(pool, opts);
  return {
    ...tenantOperations(db),
    ...userOperations(db),
    ...orgUnitOperations(db),
    ...roomOperations(db),
    ...messageOperations(db),
    ...sessionOperations(db),
    ...noteOperations(db),
  };
}
