/**
 * Migrations + seed as a program (bundled to dist/target/migrate.mjs for a container set-up; the launcher calls
 * migrate() and seed() in-process). Env: DATABASE_URL (required), BCRYPT_COST (10), MIGRATIONS_DIR (optional).
 */
import { z } from 'zod';
import { intVar, parseEnv, runMain } from '../shared/env.js';
import { MIGRATIONS_DIR, migrate, seed } from './migrate.js';

const Env = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  BCRYPT_COST: intVar(10, 4, 15),
});

runMain('migrate', async () => {
  const env = parseEnv(Env, process.env);
  const applied = await migrate(env.DATABASE_URL);
  await seed(env.DATABASE_URL, env.BCRYPT_COST);
  process.stdout.write(`migrate: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing pending'} (${MIGRATIONS_DIR}); seed ok\n`);
});
