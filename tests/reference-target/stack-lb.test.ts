/**
 * The load balancers and link proxies of the local reference stack, on real HAProxy and Toxiproxy: one stack with
 * `proxy`, `chatLb` and `dbmanLb` (the dbman-lb topology) for the chat LB (spread, WebSocket, an instance
 * stopped), the dbman LB taking a node out when its PostgreSQL link is cut, Redis fan-out through its proxy and
 * `down` leaving nothing; then a `ready-lies` stack, where the same cut leaves the node in traffic and requests
 * fail (what the suite's checks must catch). The CLI's bad flag combinations exit 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Component, TargetFile } from '../../runner/target-file.js';
import { haproxyServerStates, type ServerState } from '../../reference-target/launcher/haproxy.js';
import { findMarked, isAlive, type ProcRecord } from '../../reference-target/launcher/procs.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { call, environOf, openWsOk, setProxyEnabled, sleep, statusOf, within, type WsConn } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-lb-test-'));
const running: RunningStack[] = [];
const sockets: WsConn[] = [];
let stack: RunningStack;
let t: TargetFile;
let token: string;

const lb = (target: TargetFile, fronts: 'chat' | 'dbman') => target.loadBalancers.find((b) => b.fronts === fronts)!;
const node = (target: TargetFile, name: string): Component => target.dbmanNodes.find((n) => n.name === name)!;

async function serverState(target: TargetFile, backend: string, server: string): Promise<ServerState> {
  const s = (await haproxyServerStates(lb(target, backend === 'chat' ? 'chat' : 'dbman').statsUrl!)).find((x) => x.backend === backend && x.server === server);
  if (!s) throw new Error(`no server ${backend}/${server} on the stats page`);
  return s;
}

const status = statusOf;

async function loginThrough(target: TargetFile): Promise<string> {
  const r = await call('POST', `${target.authUrl}/api/v1/auth/login`, { body: { tenant_id: target.tenantId, email: target.login.email, password: target.login.password } });
  expect(r.status, `login through ${target.authUrl}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
  return r.body.access_token as string;
}

/** `n` room lists through the chat URL (chat → dbman, through the dbman LB in that topology); the statuses. */
async function listRooms(target: TargetFile, tok: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call('GET', `${target.chatUrl}/api/v1/rooms?limit=5`, { token: tok })).status);
  return out;
}

const setEnabled = setProxyEnabled;

beforeAll(async () => {
  stack = await startStack({ flaws: [], targetFilePath: join(dir, 'lb.json'), proxy: true, chatLb: true, dbmanLb: true });
  running.push(stack);
  t = stack.target;
  token = await loginThrough(t);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
  for (const s of running) if (existsSync(s.targetFilePath)) await stopStack(s.targetFilePath).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('stack with proxy, chatLb and dbmanLb', () => {
  it('writes the balancers, the dbman-lb topology and the proxies into the target file', async () => {
    const chatLb = lb(t, 'chat');
    const dbmanLb = lb(t, 'dbman');
    expect(t.reference!.topology).toBe('dbman-lb');
    expect(t.chatUrl).toBe(chatLb.url);
    expect(t.wsUrl).toBe(`${chatLb.url.replace(/^http/, 'ws')}/ws`);
    expect(t.chatInstances.map((c) => c.url)).not.toContain(chatLb.url);
    // the app services get the one balancer URL, not the nodes
    for (const c of [...t.chatInstances, t.orghub!, ...t.sessionInstances, ...t.tenanthubInstances]) expect(environOf(c.faults.pid!)['DBMAN_ENDPOINTS'], c.name).toBe(dbmanLb.url);
    expect(t.reference!['dbmanEndpoints']).toEqual([dbmanLb.url]);
    // every server UP; the dbman LB's servers are the per-node proxies (faults.toxiproxy), each forwarding to its node
    const states = await haproxyServerStates(dbmanLb.statsUrl!);
    expect(states.map((s) => `${s.backend}/${s.server} ${s.status}`).sort()).toEqual([
      'chat/chat-1 UP',
      'chat/chat-2 UP',
      'dbman/dbman-1 UP',
      'dbman/dbman-2 UP',
      'dbman/dbman-3 UP',
      'session/session-1 UP',
      'session/session-2 UP',
      'tenanthub/tenanthub-1 UP',
      'tenanthub/tenanthub-2 UP',
    ]);
    const cfg = readFileSync((t.reference!['haproxy'] as { configPath: string }).configPath, 'utf8');
    for (const n of t.dbmanNodes) {
      const p = (await (await fetch(`${n.faults.toxiproxy!.apiUrl}/proxies/${n.faults.toxiproxy!.proxy}`)).json()) as { listen: string; upstream: string };
      expect(p.upstream).toBe(new URL(n.url).host);
      expect(cfg).toContain(`server ${n.name} ${p.listen}`);
      expect(n.faults.dbLink?.proxy).toBe(`${n.name}-db`);
    }
    expect(t.redis?.faults.toxiproxy?.proxy).toBe('redis');
  });

  it('the chat LB spreads requests over both chat instances and carries a room WebSocket', async () => {
    const before = await Promise.all(t.chatInstances.map((c) => serverState(t, 'chat', c.name)));
    const statuses = await listRooms(t, token, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const after = await Promise.all(t.chatInstances.map((c) => serverState(t, 'chat', c.name)));
    const got = after.map((a, i) => a.sessions - before[i]!.sessions);
    // roundrobin: each instance got about half (health checks are not sessions)
    for (const g of got) expect(g).toBeGreaterThanOrEqual(8);
    expect(got[0]! + got[1]!).toBe(20);

    const room = await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'lb-room' } });
    expect(room.status).toBe(201);
    const ws = await openWsOk(`${t.wsUrl}?room_id=${room.body.id}&access_token=${token}`);
    sockets.push(ws);
    const marker = `through-lb-${Date.now()}`;
    ws.send({ type: 'message', payload: { client_msg_id: marker, body: marker, file_ids: [], emojis: [] } });
    const echo = await ws.waitFor((f) => f.type === 'message' && f.payload?.body === marker);
    expect(echo.room_id).toBe(room.body.id);
  });

  it('fan-out between the two chat instances works through the Redis proxy', async () => {
    const rp = (await (await fetch(`${t.redis!.faults.toxiproxy!.apiUrl}/proxies/redis`)).json()) as { listen: string };
    for (const c of t.chatInstances) expect(environOf(c.faults.pid!)['REDIS_URL']).toBe(`redis://${rp.listen}`);
    const room = await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'fanout-room' } });
    const [a, b] = await Promise.all(t.chatInstances.map((c) => openWsOk(`${c.url.replace(/^http/, 'ws')}/ws?room_id=${room.body.id}&access_token=${token}`)));
    sockets.push(a!, b!);
    const marker = `via-redis-proxy-${Date.now()}`;
    a!.send({ type: 'message', payload: { client_msg_id: marker, body: marker, file_ids: [], emojis: [] } });
    const got = await b!.waitFor((f) => f.type === 'message' && f.payload?.body === marker);
    expect(got.room_id).toBe(room.body.id);
    // the fan-out really crosses the proxy: with it disabled, chat-2 never gets the next one
    await setEnabled(t.redis!.faults.toxiproxy!, false);
    try {
      const lost = `cut-${Date.now()}`;
      a!.send({ type: 'message', payload: { client_msg_id: lost, body: lost, file_ids: [], emojis: [] } });
      await expect(b!.waitFor((f) => f.payload?.body === lost, 1500)).rejects.toThrow(/no matching frame/);
    } finally {
      await setEnabled(t.redis!.faults.toxiproxy!, true);
    }
  });

  it('dbman LB: a node whose PostgreSQL link is cut turns not-ready, stays live, and the balancer takes it out; requests keep succeeding', async () => {
    const n = node(t, 'dbman-2');
    await setEnabled(n.faults.dbLink!, false);
    try {
      const notReadyMs = await within(5000, 'dbman-2 /health/ready 503', async () => (await status(`${n.url}/health/ready`)) === 503);
      expect(await status(`${n.url}/health/live`)).toBe(200);
      const downMs = await within(5000, 'dbman-2 DOWN on the stats page', async () => (await serverState(t, 'dbman', 'dbman-2')).status === 'DOWN');
      process.stdout.write(`[dbman LB] db link cut: dbman-2 not ready after ${notReadyMs} ms, DOWN in HAProxy after ${downMs} ms\n`);
      expect(await status(`${n.url}/health/live`)).toBe(200);
      // out of traffic: every request through chat -> dbman LB succeeds (one in three would hit dbman-2 otherwise)
      const statuses = await listRooms(t, token, 30);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await setEnabled(n.faults.dbLink!, true);
    }
    const upMs = await within(10_000, 'dbman-2 UP again', async () => (await serverState(t, 'dbman', 'dbman-2')).status === 'UP');
    process.stdout.write(`[dbman LB] db link back: dbman-2 UP again after ${upMs} ms\n`);
  });

  it('chat LB: a stopped chat instance is taken out within a bounded time and requests succeed', async () => {
    const victim = t.chatInstances[1]!;
    const t0 = Date.now();
    process.kill(victim.faults.pid!, 'SIGKILL');
    let failed = 0;
    let sent = 0;
    let downMs = -1;
    while (Date.now() - t0 < 5000) {
      sent++;
      // a request in flight on the killed instance may fail (HAProxy retries only what never reached it)
      const ok = await call('GET', `${t.chatUrl}/api/v1/rooms?limit=1`, { token }).then((r) => r.status === 200, () => false);
      if (!ok) failed++;
      if ((await serverState(t, 'chat', victim.name)).status === 'DOWN') {
        downMs = Date.now() - t0;
        break;
      }
    }
    process.stdout.write(`[chat LB] ${victim.name} killed: DOWN in HAProxy after ${downMs} ms; ${failed} of ${sent} requests failed meanwhile\n`);
    expect(downMs).toBeGreaterThan(0);
    expect(downMs).toBeLessThan(3000);
    const statuses = await listRooms(t, token, 10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('session and tenanthub: two instances each behind their balancer; a killed session instance is taken out, requests succeed', async () => {
    const sessionLb = t.loadBalancers.find((b) => b.fronts === 'session')!;
    const tenanthubLb = t.loadBalancers.find((b) => b.fronts === 'tenanthub')!;
    expect(t.sessionUrl).toBe(sessionLb.url);
    expect(t.tenanthubUrl).toBe(tenanthubLb.url);
    expect(t.sessionInstances.map((c) => c.name)).toEqual(['session-1', 'session-2']);
    expect(t.tenanthubInstances.map((c) => c.name)).toEqual(['tenanthub-1', 'tenanthub-2']);
    const patch = () => call('PATCH', `${t.sessionUrl}/api/v1/session/status`, { token, body: { status: 'busy' } }).then((r) => r.status, () => 0);
    expect(await Promise.all(Array.from({ length: 6 }, patch))).toEqual(Array(6).fill(200));
    expect((await call('GET', `${t.tenanthubUrl}/api/v1/tenants`, { token })).status).toBe(200);
    const victim = t.sessionInstances[0]!;
    const t0 = Date.now();
    process.kill(victim.faults.pid!, 'SIGKILL');
    let downMs = -1;
    while (Date.now() - t0 < 5000) {
      await patch();
      const st = (await haproxyServerStates(sessionLb.statsUrl!)).find((x) => x.backend === 'session' && x.server === victim.name);
      if (st?.status === 'DOWN') {
        downMs = Date.now() - t0;
        break;
      }
    }
    process.stdout.write(`[session LB] ${victim.name} killed: DOWN in HAProxy after ${downMs} ms\n`);
    expect(downMs).toBeGreaterThan(0);
    const after = [];
    for (let i = 0; i < 10; i++) after.push(await patch());
    expect(after).toEqual(Array(10).fill(200));
  });

  it('down stops haproxy, toxiproxy-server and every other process of the stack', async () => {
    const procs = t.reference!['processes'] as ProcRecord[];
    const names = procs.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['haproxy', 'toxiproxy']));
    await stopStack(stack.targetFilePath);
    for (const p of procs) expect(isAlive(p), p.name).toBe(false);
    expect(findMarked(t.reference!['stackId'] as string)).toEqual([]);
    expect(existsSync(stack.targetFilePath)).toBe(false);
  });
});

describe('dbman-lb with the ready-lies flaw', () => {
  it('a node whose PostgreSQL link is cut still says ready, the balancer keeps it in traffic, and requests fail', async () => {
    const liar = await startStack({ flaws: ['ready-lies'], targetFilePath: join(dir, 'liar.json'), proxy: true, dbmanLb: true });
    running.push(liar);
    const lt = liar.target;
    expect(lt.loadBalancers.map((b) => b.fronts)).toEqual(['dbman']);
    const tok = await loginThrough(lt);
    const n = node(lt, 'dbman-2');
    await setEnabled(n.faults.dbLink!, false);
    try {
      // well past fall 2 x inter 500 ms: the healthy stack's node was DOWN by then
      await sleep(2500);
      expect(await status(`${n.url}/health/ready`)).toBe(200);
      expect((await serverState(lt, 'dbman', 'dbman-2')).status).toBe('UP');
      const statuses = await listRooms(lt, tok, 30);
      expect(statuses.filter((s) => s !== 200).length).toBeGreaterThan(0);
    } finally {
      await setEnabled(n.faults.dbLink!, true);
    }
    await stopStack(liar.targetFilePath);
  });
});

describe('stack CLI flags', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'reference-target/launcher/cli.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
  it('exits 2 with one line on an up-only flag with status or down, and on an unknown flag', () => {
    for (const [args, msg] of [
      [['status', '--lb'], /--lb: only with "up"/],
      [['down', '--dbman-lb'], /--dbman-lb: only with "up"/],
      [['up', '--balancer'], /^stack: --balancer: unknown option; allowed: .*--lb/],
    ] as const) {
      const r = cli(...args, '--target-file', join(dir, 'none.json'));
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--lb .*HAProxy in front of the chat instances/);
    expect(help.stdout).toMatch(/--dbman-lb/);
  });
});
