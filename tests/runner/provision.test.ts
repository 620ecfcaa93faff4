/** Provisioning of the Go-built tools: the skip path on the real .tools/bin, the rebuild path into a temp dir. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIONLINT, ensureActionlint, ensureK6, ensureToxiproxyServer, K6, ProvisionError, TOXIPROXY_SERVER } from '../../runner/provision.js';
import { repoRoot, toolsBin } from '../../runner/paths.js';

function fakeTool(dir: string, name: string, prints: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho '${prints}'\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(async () => {
  await ensureK6({ log: () => {} }); // a fresh clone builds it here once
}, 600_000);

describe('provisioning', () => {
  it('uses k6 at the pinned version as it is (skip path)', async () => {
    const lines: string[] = [];
    const before = statSync(join(toolsBin, 'k6')).mtimeMs;
    const t0 = Date.now();
    const path = await ensureK6({ log: (l) => lines.push(l) });
    expect(path).toBe(join(toolsBin, 'k6'));
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(lines).toEqual([`k6 v1.8.1 present (${path})`]);
    expect(statSync(path).mtimeMs).toBe(before);
    expect(await K6.installedVersion(path)).toBe('v1.8.1');
  });

  it('npm run k6 -- version prints the pinned version', () => {
    const out = execFileSync(process.execPath, [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'runner/cli/k6.ts', 'version'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/^k6 v1\.8\.1 \(/);
  });

  it('builds a tool of another version again, into the given bin dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-'));
    fakeTool(dir, 'actionlint', 'v0.0.1');
    expect(await ACTIONLINT.installedVersion(join(dir, 'actionlint'))).toBe('v0.0.1');
    const lines: string[] = [];
    const path = await ensureActionlint({ binDir: dir, log: (l) => lines.push(l) });
    expect(path).toBe(join(dir, 'actionlint'));
    expect(await ACTIONLINT.installedVersion(path)).toBe('v1.7.12');
    expect(lines[0]).toBe(`actionlint at ${path} is v0.0.1, want v1.7.12: building again`);
    expect(lines.some((l) => /^built actionlint v1\.7\.12 in [\d.]+ s$/.test(l))).toBe(true);
    // Second call: present, nothing built.
    const again: string[] = [];
    await ensureActionlint({ binDir: dir, log: (l) => again.push(l) });
    expect(again).toEqual([`actionlint v1.7.12 present (${path})`]);
  }, 300_000);

  it('fails with a one-line error naming go when a build is needed and go is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-nogo-'));
    fakeTool(dir, 'k6', 'k6 v0.1.0 (go1.0, linux/amd64)');
    const savedPath = process.env.PATH;
    process.env.PATH = dir; // no go here
    try {
      await expect(ensureK6({ binDir: dir, log: () => {} })).rejects.toThrow(ProvisionError);
      await expect(ensureK6({ binDir: dir, log: () => {} })).rejects.toThrow(/^go: not found on PATH; .*k6 v1\.8\.1/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('toxiproxy-server is provisioned under its own name with its module version', async () => {
    const path = await ensureToxiproxyServer({ log: () => {} });
    expect(path).toBe(join(toolsBin, 'toxiproxy-server'));
    expect(await TOXIPROXY_SERVER.installedVersion(path)).toBe('v2.12.0');
  }, 300_000);
});
