/**
 * Run directories: `reports/<run-id>/`, the run id sortable (UTC timestamp, kind, profile), and
 * `reports/latest`, a relative symlink replaced atomically (new link under a temporary name, then rename).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { repoRoot, reportsDir } from './paths.js';
import type { RunKind } from './summary.js';

/** e.g. `20261123T141327Z-smoke-smoke`; a second run in the same second gets `-2`, `-3`, ... */
export function makeRunId(kind: RunKind, profile: string, at = new Date(), taken: (id: string) => boolean = () => false): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `${stamp}-${kind}-${profile}`;
  let id = base;
  for (let n = 2; taken(id); n++) id = `${base}-${n}`;
  return id;
}

/** Creates `reports/<run-id>/` (or under `root`) and returns its id and path. */
export async function createRunDir(kind: RunKind, profile: string, root = reportsDir): Promise<{ runId: string; runDir: string }> {
  await mkdir(root, { recursive: true });
  for (;;) {
    const runId = makeRunId(kind, profile, new Date(), (id) => existsSync(join(root, id)));
    const runDir = join(root, runId);
    try {
      await mkdir(runDir); // not recursive: fails when a concurrent run took the same id a moment ago
      return { runId, runDir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Points `<root>/latest` at `runDir` (a relative link), replacing any previous link in one rename: a reader sees
 * the old run or the new one, never no link. Runs finishing side by side each switch it; the last one wins.
 */
export async function pointLatest(runDir: string, root = reportsDir): Promise<string> {
  const link = join(root, 'latest');
  const tmp = join(root, `.latest-${process.pid}-${randomBytes(6).toString('hex')}`);
  await symlink(basename(runDir), tmp);
  try {
    await rename(tmp, link);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return link;
}

/**
 * A state file of one run under `.state/`: `<kind>-<pid>-<random>-<name>` (e.g. the target file of the reference
 * target a smoke or a drill starts), so runs side by side, also several in one process, never share one.
 */
export function runStateFile(kind: string, name: string, dir = join(repoRoot, '.state')): string {
  return join(dir, `${kind}-${process.pid}-${randomBytes(3).toString('hex')}-${name}`);
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}

/** `git rev-parse HEAD`, with `-dirty` when the tree has uncommitted changes; "unknown" outside git. */
export function gitRevision(cwd = repoRoot): string {
  try {
    const rev = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return 'unknown';
  }
}
