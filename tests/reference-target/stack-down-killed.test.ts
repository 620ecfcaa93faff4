/**
 * `npm run stack -- down` after a drill killed with SIGKILL leaves nothing: no process of its stack, no state
 * folder, no target file, no registry entry. Once killed while the stack was starting (no target file yet),
 * once after it was up. Its own STACK_REGISTRY, so it never sees the stacks of other tests. About 40 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findMarked } from '../../reference-target/launcher/procs.js';
import { REPO_ROOT } from '../../reference-target/launcher/build.js';

const registry = mkdtempSync(join(tmpdir(), 'stack-registry-'));
const env = { ...process.env, STACK_REGISTRY: registry, TARGET_FLAWS: '' };
afterAll(() => {
  spawnSync(process.execPath, ['--import', 'tsx', 'reference-target/launcher/cli.ts', 'down'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
  rmSync(registry, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const entries = () => readdirSync(registry).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(registry, n), 'utf8')) as { stackId: string; stateDir: string; targetFilePath: string });

async function killDrillWhen(ready: (e: ReturnType<typeof entries>[number]) => boolean) {
  const drill = spawn(process.execPath, ['--import', 'tsx', 'chaos/cli/drill.ts', '--fault', 'pause', '--node', 'dbman-1', '--at', '30s', '--for', '5s', '--ledger', join(registry, 'ledger.jsonl')], { cwd: REPO_ROOT, env, stdio: 'ignore', detached: true });
  const deadline = Date.now() + 120_000;
  let entry: ReturnType<typeof entries>[number] | undefined;
  while (Date.now() < deadline) {
    entry = entries()[0];
    if (entry && ready(entry)) break;
    await sleep(100);
  }
  expect(entry, 'the drill registered its stack').toBeDefined();
  process.kill(drill.pid!, 'SIGKILL');
  await new Promise((r) => drill.once('exit', r));
  return entry!;
}

function down() {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'reference-target/launcher/cli.ts', 'down'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('stack down after a drill killed with SIGKILL', () => {
  it('while its stack was starting: stops every marked process', async () => {
    // a dbman node starting: postgres and redis (and their own processes) are up, the target file not yet written
    // (a count of marked processes alone may catch a short-lived one such as initdb)
    const e = await killDrillWhen((x) => findMarked(x.stackId).some((p) => p.component?.startsWith('dbman-')));
    expect(existsSync(e.targetFilePath)).toBe(false);
    expect(findMarked(e.stackId).length).toBeGreaterThanOrEqual(2);
    expect(down()).toMatch(new RegExp(`down: ${e.stackId} \\(started by pid \\d+, no target file`));
    expect(findMarked(e.stackId)).toEqual([]);
    expect(existsSync(e.stateDir)).toBe(false);
    expect(entries()).toEqual([]);
  }, 150_000);

  it('once its stack was up: stops it from its target file', async () => {
    const e = await killDrillWhen((x) => existsSync(x.targetFilePath));
    expect(findMarked(e.stackId).length).toBeGreaterThanOrEqual(7); // postgres, redis, 3 dbman, 2 chat, orghub
    expect(down()).toMatch(new RegExp(`down: ${e.stackId} \\(`));
    expect(findMarked(e.stackId)).toEqual([]);
    expect(existsSync(e.stateDir)).toBe(false);
    expect(existsSync(e.targetFilePath)).toBe(false);
    expect(entries()).toEqual([]);
    expect(down()).toMatch(/nothing to stop/);
  }, 150_000);
});
