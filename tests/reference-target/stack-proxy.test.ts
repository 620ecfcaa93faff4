/**
 * `npm run stack -- up --proxy` (client-side topology): a toxiproxy-server with a proxy in front of every dbman
 * node (each node's faults.toxiproxy; the app services' endpoints are the proxies), one on every node's
 * PostgreSQL link (faults.dbLink; the node's DATABASE_URL) and one in front of Redis (target.redis; the chat
 * instances' REDIS_URL), and `down` stops that server too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTargetFile } from '../../runner/target-file.js';
import { isAlive, type ProcRecord } from '../../reference-target/launcher/procs.js';
import { environOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-proxy-test-'));
const targetFile = join(dir, 'target.json');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'reference-target/launcher/cli.ts', ...args, '--target-file', targetFile], {
    encoding: 'utf8',
    timeout: 90_000,
  });

/** Live toxiproxy-server processes (pid list). */
function toxiproxyPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0]!.endsWith('toxiproxy-server');
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(() => {
  if (existsSync(targetFile)) cli('down');
  rmSync(dir, { recursive: true, force: true });
});

describe('stack up --proxy', () => {
  it('puts a toxiproxy proxy in front of each dbman node, and down stops the server', async () => {
    const up = cli('up', '--proxy');
    expect(up.status, up.stderr + up.stdout).toBe(0);
    const t = readTargetFile(targetFile);
    const procs = (t.reference?.['processes'] as ProcRecord[]) ?? [];
    const px = procs.find((p) => p.name === 'toxiproxy');
    expect(px).toBeDefined();
    expect(isAlive(px!)).toBe(true);
    const endpoints = t.reference?.['dbmanEndpoints'] as string[];
    expect(t.dbmanNodes).toHaveLength(3);
    for (const [i, n] of t.dbmanNodes.entries()) {
      expect(n.faults.toxiproxy, n.name).toBeDefined();
      expect(n.faults.toxiproxy!.proxy).toBe(n.name);
      // the app services get the proxy, not the node itself
      expect(endpoints[i]).not.toBe(n.url);
      const res = await fetch(`${n.faults.toxiproxy!.apiUrl}/proxies/${n.faults.toxiproxy!.proxy}`);
      const body = (await res.json()) as { listen: string; upstream: string; enabled: boolean };
      expect(body.enabled).toBe(true);
      expect(body.upstream).toBe(new URL(n.url).host);
      expect(endpoints[i]).toBe(`http://${body.listen}`);
      const ready = await fetch(`${endpoints[i]}/health/ready`);
      expect(ready.status).toBe(200);
    }
    // each node's own PostgreSQL link is a proxy of its own, and the node's DATABASE_URL points at it
    const listens = new Set<string>();
    for (const n of t.dbmanNodes) {
      expect(n.faults.dbLink, n.name).toEqual({ apiUrl: n.faults.toxiproxy!.apiUrl, proxy: `${n.name}-db` });
      const p = (await (await fetch(`${n.faults.dbLink!.apiUrl}/proxies/${n.faults.dbLink!.proxy}`)).json()) as { listen: string; upstream: string };
      expect(p.upstream).toBe(new URL(t.reference!.postgres.url).host);
      expect(environOf(n.faults.pid!)['DATABASE_URL']).toContain(`@${p.listen}/`);
      listens.add(p.listen);
    }
    expect(listens.size).toBe(3);
    // Redis: the chat instances use the proxy; the target file's redis is the server itself (its URL and pid, for
    // process faults) with the proxy as its network-fault access
    expect(t.redis?.faults.toxiproxy?.proxy).toBe('redis');
    expect(t.redis?.faults.pid).toBe(t.reference!.redis.pid);
    expect(t.redis!.url).toBe(t.reference!.redis.url);
    const rp = (await (await fetch(`${t.redis!.faults.toxiproxy!.apiUrl}/proxies/redis`)).json()) as { listen: string; upstream: string };
    expect(rp.upstream).toBe(new URL(t.reference!.redis.url).host);
    for (const c of t.chatInstances) expect(environOf(c.faults.pid!)['REDIS_URL']).toBe(`redis://${rp.listen}`);
    // the fault target names host and port only (no URL of a target file carries a user): the launcher's block has the full URL
    const pg = new URL(t.reference!.postgres.url);
    expect(t.postgres).toEqual({ name: 'postgres', url: `postgres://${pg.host}${pg.pathname}`, faults: { pid: t.reference!.postgres.pid } });
    expect(t.loadBalancers).toEqual([]);
    expect(t.reference!.topology).toBe('client-side');
    // a login goes orghub -> proxy -> dbman
    const login = await fetch(`${t.authUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: t.tenantId, email: t.login.email, password: t.login.password }),
    });
    expect(login.status).toBe(200);

    const down = cli('down');
    expect(down.status, down.stderr + down.stdout).toBe(0);
    expect(isAlive(px!)).toBe(false);
    expect(toxiproxyPids()).not.toContain(px!.pid);
    expect(existsSync(targetFile)).toBe(false);
  }, 120_000);
});
