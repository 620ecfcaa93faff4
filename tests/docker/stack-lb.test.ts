/**
 * The load balancers and link proxies on the docker stack (real engine, HAProxy and Toxiproxy on the host, bound to
 * 127.0.0.1 and the stack network's gateway): one `proxy + chatLb + dbmanLb` stack. The chat containers get the
 * one dbman LB URL and the Redis proxy; the chat LB spreads and carries a WebSocket; a db-cut node is taken out;
 * the docker driver still reaches the containers (a paused chat container is taken out by the chat LB); `down`
 * removes every container, the network, haproxy and toxiproxy-server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDriver } from '../../chaos/drivers/docker.js';
import { FaultStep } from '../../chaos/faults.js';
import type { TargetFile } from '../../runner/target-file.js';
import { startDockerStack } from '../../reference-target/launcher/docker-stack.js';
import { haproxyServerStates } from '../../reference-target/launcher/haproxy.js';
import { findMarked, isAlive, type ProcRecord } from '../../reference-target/launcher/procs.js';
import { stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { call, envFromList, openWsOk, setProxyEnabled, statusOf, within, type WsConn } from '../reference-target/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'docker-lb-test-'));
const docker = new Docker();
const sockets: WsConn[] = [];
let stack: RunningStack | undefined;
let t: TargetFile;
let token: string;

const lb = (fronts: 'chat' | 'dbman' | 'session' | 'tenanthub') => t.loadBalancers.find((b) => b.fronts === fronts)!;
const stateOf = async (backend: string, server: string) => (await haproxyServerStates(lb('chat').statsUrl!)).find((s) => s.backend === backend && s.server === server)!;
const status = statusOf;
const setEnabled = setProxyEnabled;
const envOf = async (container: string) => envFromList((await docker.getContainer(container).inspect()).Config.Env ?? []);

async function listRooms(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await call('GET', `${t.chatUrl}/api/v1/rooms?limit=5`, { token }).then((r) => r.status, () => 0));
  return out;
}

beforeAll(async () => {
  stack = await startDockerStack({ flaws: [], targetFilePath: join(dir, 'lb.json'), proxy: true, chatLb: true, dbmanLb: true, log: (l) => process.stdout.write(`[docker stack] ${l}\n`) });
  t = stack.target;
  const r = await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: t.tenantId, email: t.login.email, password: t.login.password } });
  expect(r.status).toBe(200);
  token = r.body.access_token;
}, 300_000);

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
  if (stack) await stopStack(stack.targetFilePath).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('docker stack with proxy, chatLb and dbmanLb', () => {
  it('the containers get the dbman LB and the Redis proxy on the gateway; the balancers and proxies bind loopback and the gateway only', async () => {
    // the target file's dbman LB is the host's (loopback) address; the containers reach the same port on the gateway
    const inContainer = new URL((await envOf(t.chatInstances[0]!.faults.container!))['DBMAN_ENDPOINTS']!);
    const gw = inContainer.hostname;
    expect(new URL(lb('dbman').url).hostname).toBe('127.0.0.1');
    expect(new URL(lb('dbman').url).port).toBe(inContainer.port);
    expect(gw).not.toBe('127.0.0.1');
    expect(t.reference!.topology).toBe('dbman-lb');
    expect(new URL(t.chatUrl).hostname).toBe('127.0.0.1');
    expect(t.chatUrl).toBe(lb('chat').url);
    // the target file's redis is the server itself (process faults); the containers use its proxy on the gateway
    const rp = (await (await fetch(`${t.redis!.faults.toxiproxy!.apiUrl}/proxies/redis`)).json()) as { listen: string };
    for (const c of t.chatInstances) {
      expect(c.faults.container).toBeDefined();
      const env = await envOf(c.faults.container!);
      expect(env['DBMAN_ENDPOINTS']).toBe(inContainer.href.replace(/\/$/, ''));
      expect(env['REDIS_URL']).toBe(`redis://${rp.listen}`);
    }
    expect(rp.listen.startsWith(`${gw}:`)).toBe(true);
    expect(t.redis!.url).toBe(t.reference!.redis.url);
    for (const n of t.dbmanNodes) {
      expect(n.faults.container).toBeDefined();
      const p = (await (await fetch(`${n.faults.dbLink!.apiUrl}/proxies/${n.faults.dbLink!.proxy}`)).json()) as { listen: string };
      expect(p.listen.startsWith(`${gw}:`)).toBe(true);
      expect((await envOf(n.faults.container!))['DATABASE_URL']).toContain(`@${p.listen}/`);
    }
    const states = await haproxyServerStates(lb('chat').statsUrl!);
    expect(states.every((s) => s.status === 'UP')).toBe(true);
    // chat-1..2, dbman-1..3, and the host's session-1..2 and tenanthub-1..2 behind their own balancers
    expect(states).toHaveLength(9);
    expect(t.sessionUrl).toBe(lb('session').url);
    expect(t.tenanthubUrl).toBe(lb('tenanthub').url);
  });

  it('the chat LB spreads requests over both chat containers and carries a room WebSocket', async () => {
    const before = await Promise.all(t.chatInstances.map((c) => stateOf('chat', c.name)));
    expect((await listRooms(20)).every((s) => s === 200)).toBe(true);
    const after = await Promise.all(t.chatInstances.map((c) => stateOf('chat', c.name)));
    for (const [i, a] of after.entries()) expect(a.sessions - before[i]!.sessions).toBeGreaterThanOrEqual(8);
    const room = await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'docker-lb-room' } });
    // two sockets through the balancer land on both instances (roundrobin); a message crosses Redis through its proxy
    const [a, b] = [await openWsOk(`${t.wsUrl}?room_id=${room.body.id}&access_token=${token}`), await openWsOk(`${t.wsUrl}?room_id=${room.body.id}&access_token=${token}`)];
    sockets.push(a, b);
    const marker = `docker-lb-${Date.now()}`;
    a.send({ type: 'message', payload: { client_msg_id: marker, body: marker, file_ids: [], emojis: [] } });
    await a.waitFor((f) => f.payload?.body === marker);
    await b.waitFor((f) => f.payload?.body === marker);
  });

  it('a dbman container whose PostgreSQL link is cut turns not-ready, stays live, and the dbman LB takes it out', async () => {
    const n = t.dbmanNodes[1]!;
    await setEnabled(n.faults.dbLink!, false);
    try {
      await within(5000, 'not ready', async () => (await status(`${n.url}/health/ready`)) === 503);
      const downMs = await within(5000, 'DOWN', async () => (await stateOf('dbman', n.name)).status === 'DOWN');
      process.stdout.write(`[docker dbman LB] db link cut: ${n.name} DOWN after ${downMs} ms\n`);
      expect(await status(`${n.url}/health/live`)).toBe(200);
      expect((await listRooms(30)).filter((s) => s !== 200)).toEqual([]);
    } finally {
      await setEnabled(n.faults.dbLink!, true);
    }
    await within(10_000, 'UP again', async () => (await stateOf('dbman', n.name)).status === 'UP');
  });

  it('the docker driver still reaches the containers: a paused chat container is taken out by the chat LB, heal brings it back', async () => {
    const victim = t.chatInstances[1]!;
    const d = new DockerDriver({ stopTimeoutS: 2 });
    const h = await d.prepare(FaultStep.parse({ fault: 'pause', node: victim.name, at: 0, for: 1 }), victim);
    await d.inject('pause', h);
    try {
      const downMs = await within(6000, 'paused chat DOWN', async () => (await stateOf('chat', victim.name)).status === 'DOWN');
      process.stdout.write(`[docker chat LB] ${victim.name} paused: DOWN after ${downMs} ms\n`);
      expect((await listRooms(10)).filter((s) => s !== 200)).toEqual([]);
    } finally {
      await d.heal('pause', h);
    }
    await within(10_000, 'chat UP again', async () => (await stateOf('chat', victim.name)).status === 'UP');
  });

  it('down removes the containers and the network and stops haproxy and toxiproxy-server', async () => {
    const procs = t.reference!['processes'] as ProcRecord[];
    expect(procs.map((p) => p.name)).toEqual(expect.arrayContaining(['haproxy', 'toxiproxy']));
    const res = t.reference!['docker'] as { network: string };
    await stopStack(stack!.targetFilePath);
    stack = undefined;
    for (const p of procs) expect(isAlive(p), p.name).toBe(false);
    expect(findMarked(t.reference!['stackId'] as string)).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`dbman-target.stack=${res.network}`] } })).toEqual([]);
    expect((await docker.listNetworks({ filters: { name: [res.network] } })).filter((x) => x.Name === res.network)).toEqual([]);
  }, 60_000);
});
