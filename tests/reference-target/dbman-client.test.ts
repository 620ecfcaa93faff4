/** The dbman client against real local HTTP servers that answer, refuse, hang and fail with 5xx. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTRACT_DEFAULTS,
  DbmanClient,
  DbmanUnavailableError,
  dbmanClientConfigFromEnv,
  type Attempt,
  type DbmanClientConfig,
} from '../../reference-target/dbman-client/client.js';
import type { FlawName } from '../../reference-target/flaws.js';
import { refusingUrl, sleep, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
const clients: DbmanClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(b: Parameters<typeof startServer>[0]) {
  const s = await startServer(b);
  servers.push(s);
  return s;
}

function client(endpoints: string[], over: Partial<DbmanClientConfig> = {}, flaws: FlawName[] = []) {
  let now = 1_000_000;
  const attempts: Attempt[] = [];
  const c = new DbmanClient(
    { endpoints, timeoutMs: 300, failThreshold: 3, cooldownMs: 10_000, flaws, ...over },
    { now: () => now, onAttempt: (a) => attempts.push(a) },
  );
  clients.push(c);
  return { c, attempts, advance: (ms: number) => (now += ms) };
}

describe('configuration from the environment (contract names and defaults)', () => {
  it('uses the contract defaults when nothing is set', () => {
    const cfg = dbmanClientConfigFromEnv({});
    expect(cfg).toEqual({ endpoints: ['http://localhost:8082'], timeoutMs: 5000, failThreshold: 3, cooldownMs: 10_000, flaws: [] });
    expect(CONTRACT_DEFAULTS).toEqual({ endpoint: 'http://localhost:8082', timeoutMs: 5000, failThreshold: 3, cooldownMs: 10_000 });
  });

  it('prefers DBMAN_ENDPOINTS over DBMAN_ENDPOINT and reads every setting', () => {
    const cfg = dbmanClientConfigFromEnv({
      DBMAN_ENDPOINTS: 'http://a:1, http://b:2/,http://c:3',
      DBMAN_ENDPOINT: 'http://ignored:9',
      DBMAN_HTTP_TIMEOUT_MS: '1000',
      DBMAN_FAIL_THRESHOLD: '2',
      DBMAN_COOLDOWN_MS: '2500',
      TARGET_FLAWS: 'no-cooldown',
    });
    expect(cfg).toEqual({
      endpoints: ['http://a:1', 'http://b:2', 'http://c:3'],
      timeoutMs: 1000,
      failThreshold: 2,
      cooldownMs: 2500,
      flaws: ['no-cooldown'],
    });
    expect(dbmanClientConfigFromEnv({ DBMAN_ENDPOINT: 'http://one:8082' }).endpoints).toEqual(['http://one:8082']);
  });

  it.each([
    [{ DBMAN_HTTP_TIMEOUT_MS: 'abc' }, /^DBMAN_HTTP_TIMEOUT_MS: .*integer/],
    [{ DBMAN_FAIL_THRESHOLD: '0' }, /^DBMAN_FAIL_THRESHOLD: /],
    [{ DBMAN_COOLDOWN_MS: '-1' }, /^DBMAN_COOLDOWN_MS: /],
    [{ DBMAN_ENDPOINTS: 'localhost:8082' }, /^DBMAN_ENDPOINTS\.0: must be an http/],
    [{ TARGET_FLAWS: 'bogus' }, /^TARGET_FLAWS: unknown flaw "bogus"/],
  ])('rejects %o with a one-line error naming the setting', (env, re) => {
    let msg = '';
    try {
      dbmanClientConfigFromEnv(env);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(re);
    expect(msg).not.toContain('\n');
  });
});

describe('failover', () => {
  it('starts each request at the next endpoint in round-robin order', async () => {
    const s = [await server('ok'), await server('ok'), await server('ok')];
    const { c } = client(s.map((x) => x.url));
    const answered: string[] = [];
    for (let i = 0; i < 6; i++) answered.push((await c.call('messages', { i })).endpoint);
    expect(answered).toEqual([s[0]!.url, s[1]!.url, s[2]!.url, s[0]!.url, s[1]!.url, s[2]!.url]);
    expect(s[0]!.hits).toEqual(['/api/internal/v1/db/messages', '/api/internal/v1/db/messages']);
  });

  it('moves on after connection refused, a timeout and a 5xx', async () => {
    const refused = await refusingUrl();
    const hang = await server('hang');
    const five = await server({ status: 503 });
    const ok = await server('ok');
    const { c, attempts } = client([refused, hang.url, five.url, ok.url]);
    const t0 = Date.now();
    const res = await c.call('rooms/list', {});
    expect(res.status).toBe(200);
    expect(res.endpoint).toBe(ok.url);
    expect(attempts.map((a) => a.outcome)).toEqual(['connect-error', 'timeout', 'http-5xx', 'ok']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290); // one full timeout on the hanging node
    expect(five.hits).toHaveLength(1);
  });

  it('returns a 4xx at once without trying the other endpoints', async () => {
    const four = await server({ status: 404 });
    const ok = await server('ok');
    const { c, attempts } = client([four.url, ok.url]);
    const res = await c.call('rooms/members', {});
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'status 404' });
    expect(attempts).toHaveLength(1);
    expect(ok.hits).toHaveLength(0);
  });

  it('goes at most once around the list, then fails naming the last error', async () => {
    const a = await server({ status: 500 });
    const b = await server({ status: 502 });
    const { c } = client([a.url, b.url]);
    const err = await c.call('messages', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbmanUnavailableError);
    expect((err as DbmanUnavailableError).attempts).toHaveLength(2);
    expect((err as Error).message).toMatch(/http-5xx HTTP 502/);
    expect(a.hits.length + b.hits.length).toBe(2);
  });

  it('retries writes too: a node that committed and then answered 5xx leaves the write stored twice', async () => {
    const committing = await server({ status: 503 }); // counts the write, then fails
    const ok = await server('ok');
    const { c } = client([committing.url, ok.url]);
    const res = await c.call('messages', { body: 'x' });
    expect(res.status).toBe(200);
    expect(committing.hits).toEqual(['/api/internal/v1/db/messages']);
    expect(ok.hits).toEqual(['/api/internal/v1/db/messages']);
  });
});

describe('failure threshold and cooldown', () => {
  it('sets an endpoint aside after the threshold, skips it during the cooldown, tries it again after', async () => {
    const bad = await server({ status: 500 });
    const ok = await server('ok');
    const { c, advance } = client([bad.url, ok.url], { failThreshold: 3, cooldownMs: 10_000 });
    for (let i = 0; i < 6; i++) await c.call('x', {}); // round-robin: 3 of them start at `bad`
    expect(bad.hits).toHaveLength(3);
    expect(c.endpointStates()[0]!.inCooldown).toBe(true);
    for (let i = 0; i < 6; i++) await c.call('x', {});
    expect(bad.hits).toHaveLength(3); // skipped while in cooldown
    advance(10_001);
    expect(c.endpointStates()[0]!.inCooldown).toBe(false);
    for (let i = 0; i < 2; i++) await c.call('x', {});
    expect(bad.hits).toHaveLength(4); // tried again after the cooldown
  });

  it('a success resets the failure count', async () => {
    const flaky = await server({ status: 500 });
    const { c } = client([flaky.url], { failThreshold: 3 });
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    expect(c.endpointStates()[0]!.failures).toBe(2);
    flaky.set('ok');
    await c.call('x', {});
    expect(c.endpointStates()[0]!.failures).toBe(0);
    flaky.set({ status: 500 });
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    expect(c.endpointStates()[0]!.inCooldown).toBe(false);
  });

  it('a frozen node costs a full timeout per request until its threshold trips', async () => {
    const hang = await server('hang');
    const ok = await server('ok');
    const { c, attempts } = client([hang.url, ok.url], { timeoutMs: 200, failThreshold: 2 });
    const t0 = Date.now();
    for (let i = 0; i < 8; i++) await c.call('x', {});
    expect(attempts.filter((a) => a.outcome === 'timeout')).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * 195); // two full timeouts, then the node is set aside
    expect(Date.now() - t0).toBeLessThan(3 * 200);
  });

  it('when every endpoint is in cooldown, tries them all anyway', async () => {
    const a = await server({ status: 500 });
    const { c } = client([a.url], { failThreshold: 1 });
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    expect(c.endpointStates()[0]!.inCooldown).toBe(true);
    a.set('ok');
    expect((await c.call('x', {})).status).toBe(200);
  });
});

describe('flaws', () => {
  it('single-endpoint: only the first endpoint is used, even when it fails', async () => {
    const first = await server({ status: 503 });
    const second = await server('ok');
    const { c } = client([first.url, second.url], {}, ['single-endpoint']);
    expect(c.effective.endpoints).toEqual([first.url]);
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    await expect(c.call('x', {})).rejects.toThrow(DbmanUnavailableError);
    expect(second.hits).toHaveLength(0);
    // without the flaw the same client fails over
    const { c: good } = client([first.url, second.url]);
    expect((await good.call('x', {})).endpoint).toBe(second.url);
  });

  it('no-cooldown: a dead endpoint is tried again on every request', async () => {
    const bad = await server({ status: 500 });
    const ok = await server('ok');
    const { c } = client([bad.url, ok.url], { failThreshold: 1 }, ['no-cooldown']);
    for (let i = 0; i < 10; i++) await c.call('x', {});
    expect(bad.hits).toHaveLength(5);
    expect(c.endpointStates()[0]!.inCooldown).toBe(false);
    // without the flaw: set aside after the first failure
    const bad2 = await server({ status: 500 });
    const { c: good } = client([bad2.url, ok.url], { failThreshold: 1 });
    for (let i = 0; i < 10; i++) await good.call('x', {});
    expect(bad2.hits).toHaveLength(1);
  });

  it('slow-failover: 5000 ms timeout, threshold 3, 10 s cooldown whatever is configured', async () => {
    const hang = await server('hang');
    const { c } = client([hang.url], { timeoutMs: 100, failThreshold: 1, cooldownMs: 50 }, ['slow-failover']);
    expect(c.effective).toMatchObject({ timeoutMs: 5000, failThreshold: 3, cooldownMs: 10_000 });
    let settled = false;
    const p = c.call('x', {}).finally(() => (settled = true));
    p.catch(() => undefined);
    await sleep(600);
    expect(settled).toBe(false); // the configured 100 ms timeout does not apply
    const { c: good } = client([hang.url], { timeoutMs: 100 });
    const t0 = Date.now();
    await expect(good.call('x', {})).rejects.toThrow(/timeout after 100 ms/);
    expect(Date.now() - t0).toBeLessThan(600);
  });
});
