/**
 * A minimal versioned migration runner: files `NNNN_name.sql` in reference-target/migrations, applied once each, in order,
 * each in its own transaction, recorded in `schema_migrations`, under an advisory lock. Run by the launcher,
 * never by the dbman nodes.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// loaded when a migration or a seed runs, not by every CLI that imports the launcher
const loadPg = async () => (await import('pg')).default;
const loadBcrypt = async () => (await import('bcryptjs')).default;

/**
 * Where the SQL files are: MIGRATIONS_DIR, else reference-target/migrations next to the sources (reference-target/db/..), else
 * migrations/ next to the bundle (dist/target/migrate.mjs → dist/target/migrations, copied by the build).
 */
function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env['MIGRATIONS_DIR'], join(here, '..', 'migrations'), join(here, 'migrations')];
  return candidates.find((d): d is string => !!d && existsSync(d)) ?? join(here, '..', 'migrations');
}
export const MIGRATIONS_DIR = migrationsDir();

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f));
  const list = files
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f, sql: readFileSync(join(dir, f), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.version === list[i - 1]!.version) throw new Error(`migrations: version ${list[i]!.version} appears twice`);
  }
  return list;
}

/** Applies the pending migrations; returns the names applied now. */
export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = loadMigrations(dir);
  const client = new (await loadPg()).Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(724001)');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name}: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(724001)').catch(() => undefined);
    await client.end();
  }
  return applied;
}

export const SEED = {
  tenantId: 'default',
  tenantName: 'Default',
  orgUnitId: '00000000-0000-4000-8000-000000000001',
  orgUnitName: 'Default',
  adminId: '00000000-0000-4000-8000-000000000002',
  adminEmail: 'admin@example.com',
  adminPassword: 'pass1234',
  adminName: 'Admin',
} as const;

/** Seeds the default tenant, its org unit and the admin login (idempotent). */
export async function seed(databaseUrl: string, bcryptCost = 10): Promise<void> {
  const client = new (await loadPg()).Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const hash = await (await loadBcrypt()).hash(SEED.adminPassword, bcryptCost);
    await client.query('BEGIN');
    await client.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [SEED.tenantId, SEED.tenantName]);
    await client.query('INSERT INTO org_units (id, tenant_id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      SEED.orgUnitId,
      SEED.tenantId,
      SEED.orgUnitName,
    ]);
    await client.query(
      `INSERT INTO users (id, tenant_id, org_id, email, password_hash, name, role)
       VALUES ($1, $2, $3, $4, $5, $6, 'admin') ON CONFLICT DO NOTHING`,
      [SEED.adminId, SEED.tenantId, SEED.orgUnitId, SEED.adminEmail, hash, SEED.adminName],
    );
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}
