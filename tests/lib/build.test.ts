/**
 * build.mjs and the bundles, with the real k6 binary: every scenario bundles into one self-contained ES module
 * that imports only k6 modules, k6 accepts its options (k6 inspect), and a bad environment stops k6 at init with
 * a one-line error naming the variable, before any request.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenarios } from '../../build.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const K6 = join(ROOT, '.tools', 'bin', 'k6');
const out = mkdtempSync(join(tmpdir(), 'k6-build-'));
let server: Server;
let hits = 0;
let base = '';

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(out, { recursive: true, force: true });
});

function env(over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    K6_NO_USAGE_REPORT: 'true',
    CHAT_URL: `http://${base}`,
    AUTH_URL: `http://${base}`,
    WS_URL: `ws://${base}/ws`,
    TENANT_ID: 'default',
    LOGIN_EMAIL: 'admin@example.com',
    LOGIN_PASSWORD: 'not-a-real-password',
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e;
}

describe('build.mjs', () => {
  let outputs: Array<{ name: string; file: string; bytes: number }> = [];

  it('bundles every scenario into dist/<name>.js', async () => {
    const r = await buildScenarios({ outDir: out, quiet: true });
    outputs = r.outputs;
    expect(outputs.map((o) => o.name).sort()).toEqual(['failover', 'hot-room', 'load', 'msa', 'rest', 'smoke', 'ws']);
    for (const o of outputs) expect(existsSync(o.file)).toBe(true);
  });

  it('writes self-contained ES modules importing only k6 modules, with an inline source map', () => {
    for (const o of outputs) {
      const js = readFileSync(o.file, 'utf8');
      const imports = [...js.matchAll(/^import\s.*?from\s+"([^"]+)";?$/gm)].map((m) => m[1]);
      expect(imports.length).toBeGreaterThan(0);
      for (const i of imports) expect(i === 'k6' || i!.startsWith('k6/')).toBe(true);
      expect(js).not.toMatch(/\brequire\(/);
      expect(js).toMatch(/^export \{/m);
      expect(js).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
    }
  });

  it('refuses an unknown scenario name', async () => {
    await expect(buildScenarios({ outDir: out, quiet: true, only: ['nope'] })).rejects.toThrow(/no scenario nope/);
  });
});

describe('bundles in k6', () => {
  it.each(['smoke', 'rest', 'ws', 'hot-room', 'failover', 'load'])('k6 accepts the options of %s', (name) => {
    const r = spawnSync(K6, ['inspect', '--include-system-env-vars', join(out, `${name}.js`)], { env: env(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o.scenarios).length).toBeGreaterThan(0);
    expect(Object.keys(o.thresholds).length).toBeGreaterThan(0);
  });

  it('runs the msa scenario file with SESSION_URL and TENANTHUB_URL, and stops at init without them', () => {
    const urls = { SESSION_URL: `http://${base}`, TENANTHUB_URL: `http://${base}` };
    const r = spawnSync(K6, ['inspect', '--include-system-env-vars', join(out, 'msa.js')], { env: env(urls), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o.scenarios)).toEqual(['msa']);
    expect(o.thresholds['http_req_duration{scenario:msa,service:tenanthub,endpoint:tenants_list}']).toEqual(['p(95)<600']);
    const smoke = JSON.parse(spawnSync(K6, ['inspect', '--include-system-env-vars', join(out, 'smoke.js')], { env: env(urls), encoding: 'utf8' }).stdout);
    expect(Object.keys(smoke.scenarios).sort()).toEqual(['hot_room', 'msa', 'rest', 'ws']);
    const without = spawnSync(K6, ['inspect', '--include-system-env-vars', join(out, 'msa.js')], { env: env(), encoding: 'utf8' });
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/nothing to run \(msa part off: SESSION_URL and TENANTHUB_URL not set/);
  });

  it('gives the failover profile per-phase thresholds from FAULT_WINDOWS', () => {
    const r = spawnSync(K6, ['inspect', '--include-system-env-vars', join(out, 'failover.js')], {
      env: env({ FAULT_WINDOWS: '[[10,20]]', DURATION: '40s' }),
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.thresholds['http_req_failed{phase:fault}']).toEqual(['rate<=0.05']);
    expect(o.scenarios.rest.duration).toBe('40s');
  });

  it('maps a source line back to TypeScript and stops at init on a bad value, naming it, sending nothing', () => {
    hits = 0;
    const r = spawnSync(K6, ['run', '--no-summary', join(out, 'smoke.js')], { env: env({ SCALE: '-2' }), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(107);
    expect(r.stderr).toMatch(/bad configuration: SCALE: a decimal number > 0 and <= 1000, e.g. 0.05; got \\"-2\\"/);
    expect(r.stderr).toMatch(/lib\/suite\.ts:\d+/);
    expect(hits).toBe(0);
  });

  it('never prints the password, even when it is the bad value', () => {
    const r = spawnSync(K6, ['run', '--no-summary', join(out, 'smoke.js')], {
      env: env({ LOGIN_PASSWORD: 'x'.repeat(513) }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(107);
    expect(r.stderr).toMatch(/LOGIN_PASSWORD: .*got \(hidden\)/);
    expect(r.stderr).not.toContain('xxxxxxxx');
  });
});
