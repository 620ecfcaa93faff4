/** Shared edge pieces of the chaos and drill CLIs: zod errors as one-line UsageErrors, the exit on an error. */
import type { z } from 'zod';
import { isUsageError, UsageError } from '../../runner/usage-error.js';

export { UsageError };

/**
 * zod parse that throws a one-line UsageError naming the setting as the user wrote it: `nameOf(path)` (default
 * `--<key>`), e.g. `--at` or `drill.yaml: faults.1.node`; an unknown key is named itself.
 */
export function parseOrUsage<S extends z.ZodType>(schema: S, input: unknown, prefix: string | ((path: PropertyKey[]) => string) = '--'): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const where = typeof prefix === 'function' ? prefix(path) : path.length ? `${prefix}${path.join('.')}` : `${prefix.replace(/[:\s-]+$/, '') || 'arguments'}`;
  const message = issue.code === 'unrecognized_keys' ? `unknown key; allowed: the keys of ${issue.path.length ? issue.path.join('.') : 'the document'} as chaos/README.md lists them` : issue.message;
  throw new UsageError(where, `${where}: ${message}`);
}

/** Prints a usage error on one line and exits 2; any other error exits 1. */
export function exitOnError(err: unknown, program: string): never {
  if (isUsageError(err)) {
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${program}: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
