/** Parsing a service's environment once, at the edge, with zod. Bad input: one-line error, exit code 2. */
import { z } from 'zod';

export class ConfigError extends Error {}

/** Parses `env` with `schema`; throws ConfigError naming the first bad variable and what is allowed. */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.') || '(env)';
    const got = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    throw new ConfigError(`${key}: ${issue.message}${got === undefined ? '' : ` (got "${got}")`}`);
  }
  return parsed.data;
}

/** An integer env var with a default and bounds. Empty string counts as unset. */
export function intVar(def: number, min: number, max: number) {
  return z.preprocess(
    (v) => (v === undefined || v === '' ? def : Number(v)),
    z
      .number({ error: `must be an integer from ${min} to ${max}` })
      .int(`must be an integer from ${min} to ${max}`)
      .min(min, `must be an integer from ${min} to ${max}`)
      .max(max, `must be an integer from ${min} to ${max}`),
  );
}

/** A TCP port env var (1..65535); default given. */
export const portVar = (def: number) => intVar(def, 1, 65535);

/** Runs a service's main; ConfigError → one line on stderr and exit code 2, anything else → exit code 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || (err instanceof Error && /^TARGET_FLAW/.test(err.message))) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
