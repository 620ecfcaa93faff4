/**
 * A stack picks its ports free, then starts its servers seconds later; meanwhile another stack or client may take
 * a port. The start must notice (the answer on the port is not its own server's) instead of wiring the stack to a
 * stranger: an app service, Redis and PostgreSQL start again on a fresh port (the returned URL or port says
 * which). Real processes: the tenanthub bundle, redis-server, postgres. About 5 s.
 * freePorts keeps a stack's own port-0 binds (its Toxiproxy proxies) off the ports it picked.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../reference-target/launcher/build.js';
import { startPostgres, startRedis } from '../../reference-target/launcher/infra.js';
import type { StackContext } from '../../reference-target/launcher/links.js';
import { ephemeralRange, freePorts } from '../../reference-target/launcher/ports.js';
import { isAlive, stopProcesses, type ProcRecord } from '../../reference-target/launcher/procs.js';
import { processRunner, serviceProcessEnv } from '../../reference-target/launcher/service.js';
import { SERVICE_PID_HEADER } from '../../reference-target/shared/http.js';

const dir = mkdtempSync(join(tmpdir(), 'port-taken-test-'));
const procs: ProcRecord[] = [];
const closers: Array<() => Promise<void>> = [];
const logged: string[] = [];

function context(name: string): StackContext {
  const stateDir = join(dir, name);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  return { stateDir, logsDir: join(stateDir, 'logs'), procs, log: (l) => logged.push(l), mark: () => ({}) };
}

function listening<S extends Server | ReturnType<typeof createTcpServer>>(server: S, port: number): Promise<S> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const tenanthubSpec = (hostPort: number) => ({
  name: 'tenanthub',
  bundle: 'tenanthub' as const,
  port: 8092,
  hostPort,
  env: { DBMAN_ENDPOINTS: 'http://127.0.0.1:9', JWT_SECRET: 'a-test-secret-of-32-characters!!' },
  health: '/health',
});

beforeAll(async () => {
  await buildServices();
});

afterAll(async () => {
  await stopProcesses(procs);
  for (const close of closers) await close();
  rmSync(dir, { recursive: true, force: true });
});

describe('freePorts', () => {
  it('hands out ports below the ephemeral range (where port-0 binds and outgoing connections never land), none twice', async () => {
    const range: [number, number] = [32768, 60999];
    const calls = await Promise.all([freePorts(40, '127.0.0.1', range), freePorts(40, '127.0.0.1', range), freePorts(40, '127.0.0.1', range)]);
    const all = calls.flat();
    expect(new Set(all).size).toBe(120);
    for (const p of all) {
      expect(p).toBeGreaterThanOrEqual(10_000);
      expect(p).toBeLessThan(32768);
    }
  });

  it('with the range opened to 1024-65535 (load tune) the kernel picks, still none handed out twice', async () => {
    const [low] = ephemeralRange();
    const all = (await Promise.all([freePorts(40, '127.0.0.1', [1024, 65535]), freePorts(40, '127.0.0.1', [1024, 65535])])).flat();
    expect(new Set(all).size).toBe(80);
    // the kernel's picks come from the machine's real range
    for (const p of all) expect(p).toBeGreaterThanOrEqual(low);
  });
});

describe('an app service whose port was taken before it bound it', () => {
  it('by another HTTP server answering 200 on the health path: started again on a fresh port, its own pid answering', async () => {
    const [port] = (await freePorts(1)) as [number];
    // what another stack's service on that port answers: 200 on /health, 404 on everything else
    const stranger = await listening(createHttpServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('{}')), port);
    closers.push(() => new Promise((r) => stranger.close(() => r())));
    const ctx = context('http');
    const started = await processRunner(ctx, serviceProcessEnv({}, []))(tenanthubSpec(port));
    expect(started.url).not.toBe(`http://127.0.0.1:${port}`);
    const res = await fetch(`${started.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get(SERVICE_PID_HEADER)).toBe(String(started.proc.pid));
    // the first try is stopped and no longer recorded; the stack's record is the one that runs
    expect(procs.filter((p) => p.name === 'tenanthub' && isAlive(p))).toEqual([started.proc]);
    expect(logged.join('\n')).toMatch(new RegExp(`tenanthub: 127\\.0\\.0\\.1:${port} was taken by another process`));
    await started.stop();
  });

  it('by a socket that is not HTTP (the service exits with EADDRINUSE): started again on a fresh port', async () => {
    const [port] = (await freePorts(1)) as [number];
    const holder = await listening(createTcpServer((s) => s.destroy()), port);
    closers.push(() => new Promise((r) => holder.close(() => r())));
    const started = await processRunner(context('tcp'), serviceProcessEnv({}, []))(tenanthubSpec(port));
    expect(started.url).not.toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${started.url}/health`)).headers.get(SERVICE_PID_HEADER)).toBe(String(started.proc.pid));
    await started.stop();
  });
});

describe('PostgreSQL in a stack folder reached through a symlink (a symlinked TMPDIR)', () => {
  it('is its own server: it reports the folder as given, the check compares both resolved', async () => {
    const real = context('pg-real');
    chmodSync(dir, 0o755);
    chmodSync(real.stateDir, 0o755);
    const linked = join(dir, 'pg-link');
    symlinkSync(real.stateDir, linked);
    const [port] = (await freePorts(1)) as [number];
    const started = await startPostgres(linked, port, () => undefined);
    procs.push(started.proc);
    expect(isAlive(started.proc)).toBe(true);
  });
});

describe('Redis and PostgreSQL whose port was taken', () => {
  it('Redis, when another Redis answers there: started again on a fresh port, its own server, the other untouched', async () => {
    const [port] = (await freePorts(1)) as [number];
    const first = context('redis-a');
    const other = await startRedis(first.stateDir, port, () => undefined);
    procs.push(other.proc);
    const second = context('redis-b');
    const said: string[] = [];
    const started = await startRedis(second.stateDir, port, (l) => said.push(l));
    procs.push(started.proc);
    expect(started.port).not.toBe(port);
    expect(started.url).toBe(`redis://127.0.0.1:${started.port}`);
    expect(said.join('\n')).toMatch(new RegExp(`redis: port ${port} was taken by another server \\(data folder .*redis-a/redis\\) before redis bound it; trying port ${started.port}`));
    const { Redis } = await import('ioredis');
    const r = new Redis(started.url);
    try {
      expect(((await r.config('GET', 'dir')) as string[])[1]).toMatch(/redis-b\/redis$/);
    } finally {
      r.disconnect();
    }
    // the other keeps running
    expect(isAlive(other.proc)).toBe(true);
  });

  it('PostgreSQL, when a socket that is not PostgreSQL holds the port (the bind fails): started again on a fresh port', async () => {
    const [port] = (await freePorts(1)) as [number];
    const holder = await listening(createTcpServer((s) => s.destroy()), port);
    closers.push(() => new Promise((r) => holder.close(() => r())));
    const ctx = context('pg-taken');
    chmodSync(dir, 0o755);
    chmodSync(ctx.stateDir, 0o755);
    const said: string[] = [];
    const started = await startPostgres(ctx.stateDir, port, (l) => said.push(l));
    procs.push(started.proc);
    expect(started.port).not.toBe(port);
    expect(said.join('\n')).toMatch(new RegExp(`postgres: port ${port} was taken before postgres bound it: .*Address already in use.*; trying port ${started.port}`));
    expect(isAlive(started.proc)).toBe(true);
  });
});
