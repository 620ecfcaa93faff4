/**
 * Files several runs in one checkout share are replaced atomically: build.mjs writes each bundle once per content
 * (dist/<name>-<hash>.js, never rewritten) and replaces dist/<name>.js with a rename, so a reader (k6) never sees
 * half a bundle while other builds run; reports/latest is switched with a rename, so it always resolves, also
 * while many runs switch it at once.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildScenarios, PINNED_MAX_AGE_MS } from '../../build.mjs';
import { createRunDir, pointLatest } from '../../runner/run-dir.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const COMPLETE = /\/\/# sourceMappingURL=data:application\/json;base64,[A-Za-z0-9+/=]+\s*$/;

describe('build.mjs beside readers and other builds', () => {
  it('3 processes building at once: dist/smoke.js is always whole for a reader, the content-named bundle is one file, never rewritten', async () => {
    const out = mkdtempSync(join(tmpdir(), 'atomic-build-'));
    const first = await buildScenarios({ outDir: out, only: ['smoke'], quiet: true });
    const pinned = first.outputs[0]!.pinned;
    expect(pinned).toMatch(/smoke-[0-9a-f]{12}\.js$/);
    const inode = statSync(pinned).ino;
    let reads = 0;
    let torn = 0;
    let building = true;
    const reader = (async () => {
      while (building) {
        const js = readFileSync(join(out, 'smoke.js'), 'utf8');
        reads += 1;
        if (!COMPLETE.test(js)) torn += 1;
        await new Promise((r) => setImmediate(r));
      }
    })();
    // (the build before, esbuild writing dist/smoke.js in place: 5,817 of 6,171 such reads saw a partial file)
    const builders = [1, 2, 3].map(
      () => new Promise<number | null>((resolve) => spawn(process.execPath, [join(FIXTURES, 'build-loop.mjs'), out, 'smoke', '4'], { stdio: 'inherit' }).on('exit', resolve)),
    );
    const again = await buildScenarios({ outDir: out, only: ['smoke'], quiet: true });
    expect(await Promise.all(builders)).toEqual([0, 0, 0]);
    building = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(torn).toBe(0);
    expect(again.outputs[0]!.pinned).toBe(pinned);
    expect(statSync(pinned).ino).toBe(inode); // the same content was not written again
    expect(readFileSync(pinned, 'utf8')).toBe(readFileSync(join(out, 'smoke.js'), 'utf8'));
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('content-named bundles of a scenario unused for a day are removed by its next build; recent ones are kept', async () => {
    const out = mkdtempSync(join(tmpdir(), 'atomic-build-'));
    const old = join(out, 'smoke-000000000000.js');
    const recent = join(out, 'smoke-111111111111.js');
    const other = join(out, 'load-000000000000.js');
    for (const f of [old, recent, other]) writeFileSync(f, '// old build\n');
    const dayAgo = new Date(Date.now() - PINNED_MAX_AGE_MS - 60_000);
    for (const f of [old, other]) utimesSync(f, dayAgo, dayAgo);
    await buildScenarios({ outDir: out, only: ['smoke'], quiet: true });
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(other)).toBe(true); // another scenario's: left to its own build
  }, 60_000);
});

describe('reports/latest', () => {
  it('20 runs switching latest at once: it always resolves to one of them, ends on one, no temporary link left', async () => {
    const root = mkdtempSync(join(tmpdir(), 'atomic-latest-'));
    const runs = await Promise.all(Array.from({ length: 20 }, () => createRunDir('smoke', 'smoke', root)));
    await pointLatest(runs[0]!.runDir, root);
    const ids = new Set(runs.map((r) => r.runId));
    let checks = 0;
    let broken = 0;
    let switching = true;
    const reader = (async () => {
      while (switching) {
        checks += 1;
        try {
          if (!lstatSync(join(root, 'latest')).isSymbolicLink() || !ids.has(readlinkSync(join(root, 'latest')))) broken += 1;
        } catch {
          broken += 1;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(runs.map((r) => pointLatest(r.runDir, root)));
    switching = false;
    await reader;
    expect(checks).toBeGreaterThan(0);
    expect(broken).toBe(0);
    expect(ids.has(readlinkSync(join(root, 'latest')))).toBe(true);
    expect(readdirSync(root).filter((f) => f.startsWith('.latest-'))).toEqual([]);
  });
});
