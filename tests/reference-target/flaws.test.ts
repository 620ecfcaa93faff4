/** TARGET_FLAWS: parsing, the launcher CLI's errors, and the stack-level effect of the flaws the services carry. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAW_NAMES, flawsForService, parseDuplicateShare, parseEvery, parseFlaws } from '../../reference-target/flaws.js';
import { dbmanClientConfigFromEnv } from '../../reference-target/dbman-client/client.js';
import { REPO_ROOT } from '../../reference-target/launcher/build.js';
import { startStack, stopStack } from '../../reference-target/launcher/stack.js';
import { call, sleep } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'target-flaws-test-'));
const started: string[] = [];
afterAll(async () => {
  for (const f of started) if (existsSync(f)) await stopStack(f);
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'reference-target/launcher/cli.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TARGET_FLAWS: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('parseFlaws', () => {
  it('parses a comma list, ignores blanks and repeats', () => {
    expect(parseFlaws(undefined)).toEqual([]);
    expect(parseFlaws('  ')).toEqual([]);
    expect(parseFlaws('single-endpoint, ready-lies,,single-endpoint')).toEqual(['single-endpoint', 'ready-lies']);
    expect(parseFlaws(FLAW_NAMES.join(','))).toEqual([...FLAW_NAMES]);
  });

  it('throws a one-line error naming the setting and the allowed names for an unknown flaw', () => {
    expect(() => parseFlaws('ready-lies,fast-everything')).toThrow(
      'TARGET_FLAWS: unknown flaw "fast-everything" (allowed: single-endpoint, no-cooldown, retry-duplicates, ready-lies, slow-failover, lose-messages, drop-fanout, validation-500, users-create-500, ready-not-serving, slow-dbman, short-pages, membership-room-only, list-lag, sender-only-fanout, reorder-fanout, double-fanout, ignore-client-msg-id, serial-fanout, no-resubscribe, status-ok-on-failure, tenants-page)',
    );
  });

  it('scopes a flaw to one service with @service; every service takes its own and the unscoped ones', () => {
    const flaws = parseFlaws('single-endpoint@session, ready-lies, no-cooldown@tenanthub');
    expect(flaws).toEqual(['single-endpoint@session', 'ready-lies', 'no-cooldown@tenanthub']);
    expect(flawsForService(flaws, 'session')).toEqual(['single-endpoint', 'ready-lies']);
    expect(flawsForService(flaws, 'chat')).toEqual(['ready-lies']);
    expect(flawsForService(flaws, 'tenanthub')).toEqual(['ready-lies', 'no-cooldown']);
    expect(flawsForService(flaws, undefined)).toEqual(['ready-lies']);
    // each service's dbman client reads the one TARGET_FLAWS for itself
    const env = { DBMAN_ENDPOINTS: 'http://127.0.0.1:1,http://127.0.0.1:2', TARGET_FLAWS: 'single-endpoint@session' };
    expect(dbmanClientConfigFromEnv(env, 'session').flaws).toEqual(['single-endpoint']);
    expect(dbmanClientConfigFromEnv(env, 'chat').flaws).toEqual([]);
    expect(() => parseFlaws('single-endpoint@fileman')).toThrow(
      'TARGET_FLAWS: "single-endpoint@fileman": unknown service "fileman" (allowed after @: chat, orghub, session, tenanthub, dbman)',
    );
    expect(() => parseFlaws('single-endpoint@session@chat')).toThrow(/unknown service/);
    expect(() => parseFlaws('fast@session')).toThrow(/unknown flaw "fast"/);
  });

  it('TARGET_FLAW_LOSE_EVERY / TARGET_FLAW_DROP_FANOUT_EVERY: a whole number >= 1, else a one-line error naming it', () => {
    expect(parseEvery('TARGET_FLAW_LOSE_EVERY', undefined, 10)).toBe(10);
    expect(parseEvery('TARGET_FLAW_LOSE_EVERY', '7', 10)).toBe(7);
    expect(() => parseEvery('TARGET_FLAW_LOSE_EVERY', '0', 10)).toThrow(/^TARGET_FLAW_LOSE_EVERY: "0" is not a whole number ≥ 1$/);
    expect(() => parseEvery('TARGET_FLAW_DROP_FANOUT_EVERY', '2.5', 5)).toThrow(/^TARGET_FLAW_DROP_FANOUT_EVERY: "2.5"/);
  });

  it('TARGET_FLAW_DUPLICATE_SHARE: default 0.05, a number in [0, 1]', () => {
    expect(parseDuplicateShare(undefined)).toBe(0.05);
    expect(parseDuplicateShare('0.5')).toBe(0.5);
    expect(() => parseDuplicateShare('2')).toThrow(/^TARGET_FLAW_DUPLICATE_SHARE: "2" is not a number between 0 and 1$/);
  });
});

describe('npm run stack CLI', () => {
  it('an unknown flaw: exit 2, one line, nothing started', () => {
    const file = join(dir, 'never.json');
    const r = cli('up', '--flaws', 'bogus', '--target-file', file);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^stack: --flaws: unknown flaw "bogus" \(allowed: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toMatch(/state folder/);
    expect(existsSync(file)).toBe(false);
  });

  it('bad usage exits 2; down without a stack exits 0; status without a stack exits 1', () => {
    expect(cli('sideways').code).toBe(2);
    expect(cli('up', '--bogus-option').code).toBe(2);
    const down = cli('down', '--target-file', join(dir, 'none.json'));
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/nothing to stop/);
    expect(cli('status', '--target-file', join(dir, 'none.json')).code).toBe(1);
  });
});

describe('flaws in a running stack', () => {
  it('retry-duplicates: a node commits the message and answers 503, so the client stores it again on the next node', async () => {
    const file = join(dir, 'dup.json');
    started.push(file);
    const stack = await startStack({
      flaws: ['retry-duplicates', 'ready-lies'],
      targetFilePath: file,
      serviceEnv: { TARGET_FLAW_DUPLICATE_SHARE: '1', DBMAN_READY_TIMEOUT_MS: '300' },
    });
    const t = stack.target;
    expect(t.reference?.flaws).toEqual(['retry-duplicates', 'ready-lies']);
    expect(t.name).toMatch(/flaws: retry-duplicates,ready-lies/);
    const login = await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: t.tenantId, ...t.login } });
    const token = login.body.access_token as string;
    const room = (await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'dup' } })).body.id as string;
    const r = await call('POST', `${t.chatUrl}/api/v1/rooms/${room}/messages`, { token, body: { body: 'once, please' } });
    // share 1: every node commits then fails; the client went once around the 3 nodes
    expect(r).toEqual({ status: 503, body: { error: 'failed to persist message' } });
    const list = await call('GET', `${t.chatUrl}/api/v1/rooms/${room}/messages`, { token });
    expect(list.body.items.map((m: { body: string }) => m.body)).toEqual(['once, please', 'once, please', 'once, please']);

    // ready-lies: with PostgreSQL frozen the nodes still say ready
    const pgPid = t.reference!.postgres.pid!;
    process.kill(pgPid, 'SIGSTOP');
    try {
      await sleep(50);
      for (const n of t.dbmanNodes) {
        expect(await call('GET', `${n.url}/health/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
      }
    } finally {
      process.kill(pgPid, 'SIGCONT');
    }
    await stack.down();
  });

  it('single-endpoint: the services use only dbman-1, so freezing it fails requests the others could serve', async () => {
    const file = join(dir, 'single.json');
    started.push(file);
    const stack = await startStack({ flaws: ['single-endpoint'], targetFilePath: file, serviceEnv: { DBMAN_HTTP_TIMEOUT_MS: '300' } });
    const t = stack.target;
    const token = (await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: t.tenantId, ...t.login } })).body.access_token as string;
    const room = (await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'single' } })).body.id as string;
    const post = () => call('POST', `${t.chatUrl}/api/v1/rooms/${room}/messages`, { token, body: { body: 'x' } });
    // dbman-2 and dbman-3 frozen: no effect, they are never asked
    const others = t.dbmanNodes.slice(1).map((n) => n.faults.pid!);
    for (const pid of others) process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 4; i++) expect((await post()).status).toBe(201);
    } finally {
      for (const pid of others) process.kill(pid, 'SIGCONT');
    }
    const first = t.dbmanNodes[0]!.faults.pid!;
    process.kill(first, 'SIGSTOP');
    try {
      const r = await post();
      expect(r.status).toBe(503);
    } finally {
      process.kill(first, 'SIGCONT');
    }
    await stack.down();
  });
  it('validation-500, users-create-500, ready-not-serving: bad requests take a service down; a resumed node is ready but fails', async () => {
    const file = join(dir, 'serving.json');
    started.push(file);
    const stack = await startStack({
      flaws: ['validation-500', 'users-create-500', 'ready-not-serving'],
      targetFilePath: file,
      serviceEnv: { TARGET_FLAW_NOT_SERVING_MS: '1500' },
    });
    const t = stack.target;
    expect(t.dbmanClient).toEqual({ timeoutMs: 1000, failThreshold: 3, cooldownMs: 3000 });
    const token = (await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: t.tenantId, ...t.login } })).body.access_token as string;
    // users-create-500: every user creation fails with 5xx (dbman's 500 on each node: the client gives up after one round)
    const u = await call('POST', `${t.authUrl}/api/v1/users`, {
      token,
      body: { org_id: '00000000-0000-4000-8000-000000000001', email: 'a@b.invalid', password: 'pw123456', name: 'a' },
    });
    expect(u.status).toBeGreaterThanOrEqual(500);
    const room = (await call('POST', `${t.chatUrl}/api/v1/rooms`, { token, body: { name: 'v500' } })).body.id as string;
    expect((await call('GET', `${t.chatUrl}/api/v1/rooms`, { token })).status).toBe(200);
    // validation-500: 3 room lists with a bad cursor (one dbman call each), each 500 on every node, set all 3
    // endpoints of chat's client aside
    for (let i = 0; i < 3; i++) expect((await call('GET', `${t.chatUrl}/api/v1/rooms?cursor=bogus`, { token })).status).toBeGreaterThanOrEqual(500);
    // now good requests fail at once although every node is ready; orghub's own client is not affected
    expect((await call('GET', `${t.chatUrl}/api/v1/rooms`, { token })).status).toBe(503);
    expect((await call('GET', `${t.chatUrl}/api/v1/rooms/${room}/messages`, { token })).status).toBe(503);
    for (const n of t.dbmanNodes) expect((await call('GET', `${n.url}/health/ready`)).status).toBe(200);
    expect((await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: t.tenantId, ...t.login } })).status).toBe(200);
    await sleep(3200); // the 3 s cooldown
    expect((await call('GET', `${t.chatUrl}/api/v1/rooms`, { token })).status).toBe(200);

    // ready-not-serving: dbman-1 frozen 1.5 s, resumed: ready 200, but its internal API answers 500 for 1.5 s
    const n1 = t.dbmanNodes[0]!;
    const probe = () => call('POST', `${n1.url}/api/internal/v1/db/tenants/list`, { body: {} });
    expect((await probe()).status).toBe(200);
    process.kill(n1.faults.pid!, 'SIGSTOP');
    await sleep(1500);
    process.kill(n1.faults.pid!, 'SIGCONT');
    await sleep(100);
    expect((await call('GET', `${n1.url}/health/ready`)).status).toBe(200);
    expect((await probe()).status).toBe(500);
    await sleep(1600);
    expect((await probe()).status).toBe(200);
    await stack.down();
  });
});
