/** Shared edge parsing for the chaos and drill CLIs: `--name value` / `--name=value` flags, one-line usage errors. */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { isUsageError, UsageError } from '../../runner/usage-error.js';

export { UsageError };

export function parseFlags(
  argv: string[],
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** zod parse that throws a one-line UsageError naming the setting (as `--flag`) and what is allowed. */
export function parseOrUsage<S extends z.ZodType>(schema: S, input: unknown, prefix = '--'): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? `${prefix}${issue.path.join('.')}` : 'arguments';
  throw new UsageError(`${where}: ${issue.message.replace(/\s+/g, ' ')}`);
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
