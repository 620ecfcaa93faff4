/**
 * session and tenanthub of the reference stack, on one started stack: every endpoint with its bad input (400,
 * 401, 403), session's 400 on a dbman failure and tenanthub's 500, and each service's own dbman client failing
 * over on its own while a node is paused; a `single-endpoint@session` flaw breaks session alone; session and
 * tenanthub as fault targets of the nemesis (stop, kill, pause, restart, healed); no tenants body in any file of
 * a k6 run, K6_HTTP_DEBUG in the environment or not. About 50 s.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenarios } from '../../build.mjs';
import { findFaultTarget } from '../../chaos/fault-targets.js';
import { FaultStep } from '../../chaos/faults.js';
import { Ledger } from '../../chaos/ledger.js';
import { defaultDrivers, Nemesis } from '../../chaos/nemesis.js';
import { PidState, pidStatePathFor, withRecordedPids } from '../../chaos/pid-state.js';
import { runK6 } from '../../runner/k6-run.js';
import { SEED } from '../../reference-target/db/migrate.js';
import { REPO_ROOT } from '../../reference-target/launcher/build.js';
import { bundlePath } from '../../reference-target/launcher/build.js';
import { freePorts } from '../../reference-target/launcher/ports.js';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import type { TargetFile } from '../../runner/target-file.js';
import { call, refusingUrl, sleep } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'msa-services-test-'));
const targetFilePath = join(dir, 'target.json');
let stack: RunningStack;
let t: TargetFile;
let session: string;
let tenanthub: string;
let admin: { token: string; userId: string };
const extra: ChildProcess[] = [];

async function login(email: string, password: string) {
  const r = await call('POST', `${t.authUrl}/api/v1/auth/login`, { body: { tenant_id: 'default', email, password } });
  expect(r.status).toBe(200);
  return { token: r.body.access_token as string, userId: r.body.user_id as string };
}

let seq = 0;
async function newUser(role: 'manager' | 'user') {
  const email = `msa-${Date.now()}-${seq++}@example.com`;
  const r = await call('POST', `${t.authUrl}/api/v1/users`, { token: admin.token, body: { org_id: SEED.orgUnitId, email, password: 'secret-1', name: 'U', role } });
  expect(r.status).toBe(201);
  return login(email, 'secret-1');
}

/** Another session or tenanthub process with the stack's settings and JWT secret, plus `env`. */
async function extraService(service: 'session' | 'tenanthub', env: Record<string, string>): Promise<string> {
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, [bundlePath(service)], {
    env: {
      ...process.env,
      ...(t.reference!['serviceEnv'] as Record<string, string>),
      DBMAN_ENDPOINTS: (t.reference!['dbmanEndpoints'] as string[]).join(','),
      JWT_SECRET: t.reference!['jwtSecret'] as string,
      TARGET_FLAWS: '',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: 'ignore',
  });
  extra.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200 && (await call('GET', `${url}/health`).catch(() => ({ status: 0 }))).status !== 200; i++) await sleep(50);
  return url;
}

const status = (token: string | undefined, body: unknown, base = session) => call('PATCH', `${base}/api/v1/session/status`, { token, body });
const tenants = (token: string | undefined, base = tenanthub) => call('GET', `${base}/api/v1/tenants`, { token });

beforeAll(async () => {
  stack = await startStack({ targetFilePath, flaws: [] });
  t = stack.target;
  session = t.sessionUrl!;
  tenanthub = t.tenanthubUrl!;
  admin = await login(t.login.email, t.login.password);
});

afterAll(async () => {
  for (const n of t?.dbmanNodes ?? []) if (n.faults.pid) process.kill(n.faults.pid, 'SIGCONT');
  for (const c of extra) if (c.exitCode === null) c.kill('SIGKILL');
  if (existsSync(targetFilePath)) await stopStack(targetFilePath);
  rmSync(dir, { recursive: true, force: true });
});

describe('the target file', () => {
  it('lists session and tenanthub with their URLs and fault access', () => {
    expect(t.sessionInstances).toEqual([{ name: 'session', url: session, faults: { pid: expect.any(Number) } }]);
    expect(t.tenanthubInstances).toEqual([{ name: 'tenanthub', url: tenanthub, faults: { pid: expect.any(Number) } }]);
  });
});

describe('session', () => {
  it('GET /health', async () => {
    expect(await call('GET', `${session}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('PATCH /session/status: 200 ok for every status, 400 bad input, 401 without or with a bad token', async () => {
    for (const s of ['online', 'offline', 'busy', 'away', 'meeting']) expect(await status(admin.token, { status: s, status_note: 'n' })).toEqual({ status: 200, body: { ok: true } });
    expect(await status(admin.token, { status: 'sleepy' })).toEqual({ status: 400, body: { error: 'status must be one of online, offline, busy, away, meeting' } });
    expect(await status(admin.token, {})).toEqual({ status: 400, body: { error: 'status is required' } });
    expect((await status(admin.token, { status: 'busy', status_note: 7 })).status).toBe(400);
    expect((await call('PATCH', `${session}/api/v1/session/status`, { token: admin.token, raw: '{not json' })).status).toBe(400);
    expect(await status(undefined, { status: 'busy' })).toEqual({ status: 401, body: { error: 'bearer token is required' } });
    expect(await status('not-a-jwt', { status: 'busy' })).toEqual({ status: 401, body: { error: 'invalid token' } });
    const pool = new pg.Pool({ connectionString: t.reference!.postgres.url, max: 1 });
    try {
      const r = await pool.query('SELECT status, status_note FROM user_status WHERE user_id = $1', [admin.userId]);
      expect(r.rows).toEqual([{ status: 'meeting', status_note: 'n' }]);
    } finally {
      await pool.end();
    }
  });

  it('POST /session/login: 200 with the device session (upserted per device), 400 without device_id, 401', async () => {
    const body = { device_id: 'dev-1', device_name: 'phone', allowed_tenants: ['default'] };
    const a = await call('POST', `${session}/api/v1/session/login`, { token: admin.token, body });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ tenant_id: 'default', user_id: admin.userId, device_id: 'dev-1', device_name: 'phone', allowed_tenants: ['default'] });
    const b = await call('POST', `${session}/api/v1/session/login`, { token: admin.token, body: { device_id: 'dev-1' } });
    expect(b.body.session_id).toBe(a.body.session_id);
    expect(b.body.device_name).toBe('phone');
    expect(await call('POST', `${session}/api/v1/session/login`, { token: admin.token, body: { device_name: 'x' } })).toEqual({ status: 400, body: { error: 'device_id is required' } });
    expect((await call('POST', `${session}/api/v1/session/login`, { token: admin.token, body: { device_id: 'd', allowed_tenants: 'default' } })).status).toBe(400);
    expect((await call('POST', `${session}/api/v1/session/login`, { body })).status).toBe(401);
  });

  it('notes: send 201, inbox lists them, read 200; 400 for a bad recipient, someone else’s note or no body; 401', async () => {
    const bob = await newUser('user');
    const sent = await call('POST', `${session}/api/v1/notes`, { token: admin.token, body: { recipient_id: bob.userId, body: 'hello bob' } });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ sender_id: admin.userId, recipient_id: bob.userId, body: 'hello bob', read_at: null });
    const inbox = await call('GET', `${session}/api/v1/notes/inbox`, { token: bob.token });
    expect(inbox.status).toBe(200);
    expect(inbox.body.items.map((n: { id: string }) => n.id)).toEqual([sent.body.id]);
    expect((await call('GET', `${session}/api/v1/notes/inbox`, { token: admin.token })).body.items.some((n: { id: string }) => n.id === sent.body.id)).toBe(false);
    // only the recipient may mark it read
    expect(await call('POST', `${session}/api/v1/notes/${sent.body.id}/read`, { token: admin.token })).toEqual({ status: 400, body: { error: 'note access denied' } });
    expect(await call('POST', `${session}/api/v1/notes/${sent.body.id}/read`, { token: bob.token })).toEqual({ status: 200, body: { ok: true } });
    expect((await call('GET', `${session}/api/v1/notes/inbox`, { token: bob.token })).body.items[0].read_at).not.toBeNull();
    expect(await call('POST', `${session}/api/v1/notes/no-such-note/read`, { token: bob.token })).toEqual({ status: 400, body: { error: 'note not found' } });
    expect(await call('POST', `${session}/api/v1/notes`, { token: admin.token, body: { recipient_id: 'nobody', body: 'x' } })).toEqual({ status: 400, body: { error: 'recipient not found' } });
    expect(await call('POST', `${session}/api/v1/notes`, { token: admin.token, body: { recipient_id: bob.userId } })).toEqual({ status: 400, body: { error: 'body is required' } });
    expect((await call('POST', `${session}/api/v1/notes`, { body: { recipient_id: bob.userId, body: 'x' } })).status).toBe(401);
    expect((await call('GET', `${session}/api/v1/notes/inbox`)).status).toBe(401);
  });
});

describe('tenanthub', () => {
  it('GET /tenants: 200 with an array of tenants and their dedicated fields for admin and manager; 403 for a user; 401', async () => {
    expect(await call('GET', `${tenanthub}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    const r = await tenants(admin.token);
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.body[0]).toMatchObject({ tenant_id: 'default', name: 'Default', deployment_mode: 'shared', is_active: true, dedicated_dsn: null, dedicated_minio_secret_key: null });
    for (const k of ['created_at', 'dedicated_redis_addr', 'dedicated_lavinmq_url', 'dedicated_minio_endpoint', 'dedicated_minio_access_key']) expect(r.body[0]).toHaveProperty(k);
    const manager = await newUser('manager');
    expect((await tenants(manager.token)).status).toBe(200);
    const user = await newUser('user');
    expect(await tenants(user.token)).toEqual({ status: 403, body: { error: 'forbidden' } });
    expect(await tenants(undefined)).toEqual({ status: 401, body: { error: 'bearer token is required' } });
    expect((await tenants('bad')).status).toBe(401);
  });
});

describe('a dbman failure', () => {
  it('session answers 400, never 5xx; tenanthub answers 500', async () => {
    const dead = await refusingUrl();
    const [s, h] = await Promise.all([extraService('session', { DBMAN_ENDPOINTS: dead }), extraService('tenanthub', { DBMAN_ENDPOINTS: dead })]);
    expect(await status(admin.token, { status: 'busy' }, s)).toEqual({ status: 400, body: { error: 'database unavailable' } });
    expect((await call('POST', `${s}/api/v1/session/login`, { token: admin.token, body: { device_id: 'd' } })).status).toBe(400);
    expect(await tenants(admin.token, h)).toEqual({ status: 500, body: { error: 'failed to list tenants' } });
  });
});

describe('each service fails over on its own', () => {
  it('dbman-1 paused: session and tenanthub keep answering (the first requests wait one client timeout); single-endpoint@session breaks session alone', async () => {
    // started before the pause: the flaw scoped to session reaches only the session process
    const [flawedSession, flawedTenanthub] = await Promise.all([
      extraService('session', { TARGET_FLAWS: 'single-endpoint@session' }),
      extraService('tenanthub', { TARGET_FLAWS: 'single-endpoint@session' }),
    ]);
    const pid = t.dbmanNodes[0]!.faults.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const timed = async (fn: () => Promise<{ status: number }>) => {
        const t0 = Date.now();
        const r = await fn();
        return { status: r.status, ms: Date.now() - t0 };
      };
      // 12 calls each, one at a time: round robin puts dbman-1 first every 3rd call until 3 timeouts set it aside
      // (for the 3 s cooldown; the calls after that are fast, well within it)
      const runs = { session: [] as { status: number; ms: number }[], tenanthub: [] as { status: number; ms: number }[], flawedTenanthub: [] as { status: number; ms: number }[] };
      for (let i = 0; i < 12; i++) {
        runs.session.push(await timed(() => status(admin.token, { status: 'away' })));
        runs.tenanthub.push(await timed(() => tenants(admin.token)));
        runs.flawedTenanthub.push(await timed(() => tenants(admin.token, flawedTenanthub)));
      }
      for (const k of ['session', 'tenanthub', 'flawedTenanthub'] as const) {
        expect(runs[k].map((r) => r.status), k).toEqual(Array(12).fill(200));
        // the pause is seen (a call waits one 1 s timeout), then the node is set aside: the last calls are fast
        expect(runs[k].filter((r) => r.ms >= 900).length, k).toBeGreaterThanOrEqual(1);
        expect(runs[k].filter((r) => r.ms >= 900).length, k).toBeLessThanOrEqual(3);
        expect(runs[k].slice(-4).every((r) => r.ms < 900), k).toBe(true);
      }
      // session with single-endpoint has only dbman-1: every call fails, as a 400, after the client timeout
      const flawed = [];
      for (let i = 0; i < 4; i++) flawed.push(await timed(() => status(admin.token, { status: 'away' }, flawedSession)));
      expect(flawed.map((r) => r.status)).toEqual([400, 400, 400, 400]);
      expect(flawed.every((r) => r.ms >= 900 || r.ms < 100)).toBe(true); // a timeout, or skipped at once in cooldown
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // back: the flawed session works again once its node answers
    for (let i = 0; i < 50 && (await status(admin.token, { status: 'online' }, flawedSession)).status !== 200; i++) await sleep(200);
    expect((await status(admin.token, { status: 'online' }, flawedSession)).status).toBe(200);
  }, 90_000);
});

/** The k6 environment of the msa scenario against this stack (the one login; session and tenanthub as given). */
function msaEnv(sessionUrl = session, tenanthubUrl = tenanthub, durationS = 5): Record<string, string> {
  return {
    CHAT_URL: t.chatUrl,
    AUTH_URL: t.authUrl,
    WS_URL: t.wsUrl,
    SESSION_URL: sessionUrl,
    TENANTHUB_URL: tenanthubUrl,
    TENANT_ID: t.tenantId,
    LOGIN_EMAIL: t.login.email,
    LOGIN_PASSWORD: t.login.password,
    DURATION: `${durationS}s`,
    USER_POOL: '0',
  };
}

describe('the msa part against flawed services (k6, dist/msa.js, 5 s)', () => {
  it('a 200 without the contract’s shape fails msa.answer_shape, which the status-only error rates let pass', async () => {
    const dead = await refusingUrl();
    // session: every status update fails at dbman and answers 200 {"ok": false}; tenanthub: a page, not an array
    const [s, h] = await Promise.all([
      extraService('session', { DBMAN_ENDPOINTS: dead, TARGET_FLAWS: 'status-ok-on-failure' }),
      extraService('tenanthub', { TARGET_FLAWS: 'tenants-page@tenanthub' }),
    ]);
    expect(await status(admin.token, { status: 'busy' }, s)).toEqual({ status: 200, body: { ok: false, error: 'database unavailable' } });
    expect((await tenants(admin.token, h)).body).toHaveProperty('items');
    const [script] = (await buildScenarios({ outDir: dir, quiet: true, only: ['msa'] })).outputs.map((o: { file: string }) => o.file);
    const summaryPath = join(dir, 'msa-summary.json');
    const r = spawnSync(join(REPO_ROOT, '.tools', 'bin', 'k6'), ['run', '--no-usage-report', '--address', '', script!], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...msaEnv(s, h), SUMMARY_PATH: summaryPath },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, r.stderr.slice(-2000)).toBe(99); // thresholds failed
    const results = JSON.parse(readFileSync(summaryPath, 'utf8')).suite.thresholds as Array<{ id: string; ok: boolean | null; samples: number | null }>;
    const ok = (id: string) => results.find((x) => x.id === id);
    expect(ok('msa.answer_shape')).toMatchObject({ ok: false });
    expect(ok('msa.answer_shape')!.samples!).toBeGreaterThan(10);
    // every request answered 200: the status-based error rates cannot see it
    for (const id of ['msa.error_rate', 'msa.session.error_rate', 'msa.tenanthub.error_rate']) expect(ok(id), id).toMatchObject({ ok: true });
  }, 120_000);
});

describe('session and tenanthub as fault targets (the nemesis and its process driver, on the stack’s own processes)', () => {
  /** 'ok' (200), 'timeout' (no answer within `ms`), or the connection error. */
  async function probe(url: string, ms = 1500): Promise<string> {
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(ms) });
      await r.arrayBuffer();
      return r.status === 200 ? 'ok' : String(r.status);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message);
    }
  }

  it('stop, kill, pause and restart take each out (refused or frozen) and heal brings it back answering, tokens still valid', async () => {
    const ledger = new Ledger(join(dir, 'ledger.jsonl'));
    const nemesis = new Nemesis({ ledger, drivers: defaultDrivers(join(dir, 'chaos-logs')), targetFilePath });
    const pids = new PidState(pidStatePathFor(ledger.path));
    const cases: Array<[string, 'stop' | 'kill' | 'pause' | 'restart']> = [
      ['session', 'stop'],
      ['session', 'pause'],
      ['session', 'restart'],
      ['tenanthub', 'kill'],
      ['tenanthub', 'pause'],
    ];
    for (const [node, fault] of cases) {
      // a node a fault started again is reached at its new pid (the pid state), as the drill does
      const comp = findFaultTarget(withRecordedPids(t, pids.live(targetFilePath)), node)!;
      expect(comp.faults.pid, node).toBeDefined();
      const inj = await nemesis.inject(FaultStep.parse({ fault, node, at: 0, for: 5 }), comp);
      if (fault === 'pause') expect(await probe(comp.url, 700), `${fault} ${node}`).toBe('timeout');
      else if (fault === 'restart') expect(await probe(comp.url), `${fault} ${node}`).toBe('ok');
      // refused, or a pooled keep-alive connection of an earlier probe found closed (undici's UND_ERR_SOCKET)
      else expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'], `${fault} ${node}`).toContain(await probe(comp.url));
      await nemesis.heal(inj.id);
      expect(await probe(comp.url), `${node} after healing ${fault}`).toBe('ok');
      // the restarted process has the stack's settings: the JWT the stack issued is still accepted
      if (node === 'session') expect(await status(admin.token, { status: 'busy' })).toEqual({ status: 200, body: { ok: true } });
      else expect((await tenants(admin.token)).status).toBe(200);
    }
    expect(ledger.active()).toEqual([]);
    const live = pids.live(targetFilePath);
    expect(live['session']).not.toBe(t.sessionInstances[0]!.faults.pid);
    expect(live['tenanthub']).not.toBe(t.tenanthubInstances[0]!.faults.pid);
  }, 60_000);
});

describe('the tenants list’s secrets (k6 runs of dist/msa.js through the runner, 5 s each)', () => {
  /** Every file under `root` as text (gzip unpacked). */
  function filesText(root: string): Array<{ path: string; text: string }> {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const path = join(e.parentPath, e.name);
        const buf = readFileSync(path);
        return { path, text: (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8') };
      });
  }

  it('no file of a run holds a tenants body, K6_HTTP_DEBUG=full in the environment or not; k6 with --http-debug=full would write it', async () => {
    const secret = `minio-secret-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const db = new pg.Client({ connectionString: t.reference!.postgres.url });
    await db.connect();
    await db.query(`INSERT INTO tenants (id, name, deployment_mode, dedicated_minio_secret_key) VALUES ('dedicated-secrets', 'D', 'dedicated', $1)`, [secret]);
    await db.end();
    const [script] = (await buildScenarios({ outDir: join(dir, 'dist-secrets'), quiet: true, only: ['msa'] })).outputs.map((o: { file: string }) => o.file);
    const k6Path = join(REPO_ROOT, '.tools', 'bin', 'k6');
    const run = (name: string, extraArgs: string[] = []) => {
      mkdirSync(join(dir, name));
      return runK6({ k6Path, script: script!, runDir: join(dir, name), env: msaEnv(session, tenanthub, 5), extraArgs, echo: false, log: () => undefined, timeoutMs: 60_000 });
    };
    const before = process.env.K6_HTTP_DEBUG;
    process.env.K6_HTTP_DEBUG = 'full';
    let r;
    try {
      r = await run('run-env');
    } finally {
      if (before === undefined) delete process.env.K6_HTTP_DEBUG;
      else process.env.K6_HTTP_DEBUG = before;
    }
    expect(r.exitCode, readFileSync(r.paths.log, 'utf8').slice(-2000)).toBe(0);
    const files = filesText(join(dir, 'run-env'));
    expect(files.map((f) => f.path.slice(dir.length + 9)).sort()).toEqual(['k6-raw.json.gz', 'k6-summary.json', 'k6.log']);
    expect(files.find((f) => f.path.endsWith('k6-raw.json.gz'))!.text).toMatch(/"endpoint":"tenants_list"/);
    for (const f of files) expect(f.text.includes(secret), f.path).toBe(false);
    // the control: k6 told to dump bodies does write the tenants list (with its secret) into the run's log
    const leak = await run('run-debug', ['--http-debug=full']);
    expect(leak.exitCode).toBe(0);
    expect(filesText(join(dir, 'run-debug')).some((f) => f.text.includes(secret))).toBe(true);
  }, 90_000);
});
