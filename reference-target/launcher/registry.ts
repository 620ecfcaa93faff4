/**
 * The stacks this checkout started: every stack start (npm run stack -- up, the smoke's, the drill's, on the
 * host or on Docker) registers itself here before it starts anything, and its stop removes the entry. So
 * `npm run stack -- down` finds every stack of this checkout, also one whose starter was killed with SIGKILL
 * halfway through starting (its processes carry TARGET_STACK_ID=<stackId> in their environment).
 *
 * The folder is `<checkout>/.state/stacks/` (STACK_REGISTRY overrides it, e.g. for a test that must not see
 * the stacks of other tests of the same checkout).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from './build.js';

const Entry = z.object({
  stackId: z.string().regex(/^dbman-target-[A-Za-z0-9]+$/),
  stateDir: z.string().min(1),
  targetFilePath: z.string().min(1),
  startedBy: z.number().int().positive(),
  at: z.string(),
});
export type RegistryEntry = z.infer<typeof Entry>;

export function registryDir(): string {
  return process.env['STACK_REGISTRY'] || join(REPO_ROOT, '.state', 'stacks');
}

export function registerStack(entry: Omit<RegistryEntry, 'at' | 'startedBy'>): void {
  const dir = registryDir();
  mkdirSync(dir, { recursive: true });
  const full: RegistryEntry = { ...entry, startedBy: process.pid, at: new Date().toISOString() };
  const path = join(dir, `${entry.stackId}.json`);
  writeFileSync(`${path}.tmp`, JSON.stringify(full) + '\n', { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function unregisterStack(stackId: string): void {
  if (!/^dbman-target-[A-Za-z0-9]+$/.test(stackId)) return;
  rmSync(join(registryDir(), `${stackId}.json`), { force: true });
}

/** Every registered stack (an entry that cannot be read is skipped and named in `unreadable`). */
export function registeredStacks(): { entries: RegistryEntry[]; unreadable: string[] } {
  const entries: RegistryEntry[] = [];
  const unreadable: string[] = [];
  let names: string[];
  try {
    names = readdirSync(registryDir()).filter((n) => n.endsWith('.json'));
  } catch {
    return { entries, unreadable };
  }
  for (const n of names) {
    try {
      entries.push(Entry.parse(JSON.parse(readFileSync(join(registryDir(), n), 'utf8'))));
    } catch {
      unreadable.push(join(registryDir(), n));
    }
  }
  return { entries, unreadable };
}
