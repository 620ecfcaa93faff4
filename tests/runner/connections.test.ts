/**
 * The loopback rule (lib/loopback.ts) and the guarded connections (runner/connections.ts): one host check, no URL
 * with credentials, no redirect followed (the login probe must not send its body where a 307 points).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { steadyState } from '../../chaos/drill/steady.js';
import { isLoopbackHost, redactUrls, refusalOf, urlParts } from '../../lib/loopback.js';
import { allowRemoteConnections, ConnectionRefusedByRule, dockerHostRefusal, guardedFetch } from '../../runner/connections.js';
import { redact } from '../../runner/k6-run.js';
import type { TargetFile } from '../../runner/target-file.js';

describe('the loopback rule', () => {
  it.each([
    ['127.0.0.1', true], ['127.9.9.9', true], ['localhost', true], ['[::1]', true], ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true], ['::ffff:7f00:1', true], ['0:0:0:0:0:ffff:127.0.0.1', true],
    ['127.0.0.256', false], ['::2', false], ['::ffff:10.0.0.1', false], ['0.0.0.0', false], ['127.0.0.1.nip.io', false], ['10.0.0.1', false],
  ])('host %s → %s', (host, loopback) => expect(isLoopbackHost(host)).toBe(loopback));

  it.each([
    // what a lenient parser would read as loopback while another reads a remote host
    ['http://evil.example\\@127.0.0.1/', /not a URL/],
    ['http://evil.example#@127.0.0.1/', /host "evil.example" is outside loopback/],
    ['http://127.0.0.1:8080@evil.example/', /carries credentials/],
    ['http://user:pw@127.0.0.1:8080/', /carries credentials \(user:password@\); put them in the target file's login\/users/],
    ['ftp://127.0.0.1/', /has scheme ftp/],
    ['http://192.0.2.3:80', /outside loopback.*--allow-remote/],
  ])('refuses %s', (url, why) => expect(refusalOf(url, false, ['http', 'https'])).toMatch(why));

  it('lets remote hosts past only when allowed, never credentials', () => {
    expect(refusalOf('https://staging.example/x', true)).toBeUndefined();
    expect(refusalOf('https://u:p@staging.example/x', true)).toMatch(/credentials/);
    expect(refusalOf('http://127.0.0.1:1/x', false)).toBeUndefined();
  });

  it('redacts the credentials of every URL in a text, and nothing else', () => {
    const text = 'GET http://admin:s3cret@127.0.0.1:8080/x failed; ws://tok@h/ws; postgres://postgres:pw@127.0.0.1:5432/db; mail a@b.c';
    const out = redactUrls(text);
    expect(out).not.toMatch(/s3cret|admin|tok@|:pw@/);
    expect(out).toBe('GET http://***@127.0.0.1:8080/x failed; ws://***@h/ws; postgres://***@127.0.0.1:5432/db; mail a@b.c');
    expect(redact('dial ws://u:hunter22@127.0.0.1/ws: refused', [])).toBe('dial ws://***@127.0.0.1/ws: refused');
    expect(urlParts('http://[::1]:80/p')?.host).toBe('[::1]');
  });

  it('puts DOCKER_HOST under the same rule', () => {
    expect(dockerHostRefusal(undefined)).toBeUndefined();
    expect(dockerHostRefusal('unix:///var/run/docker.sock')).toBeUndefined();
    expect(dockerHostRefusal('tcp://127.0.0.1:2375')).toBeUndefined();
    expect(dockerHostRefusal('tcp://192.0.2.5:2375')).toMatch(/^DOCKER_HOST: host "192.0.2.5" is outside loopback/);
    expect(dockerHostRefusal('ssh://me@build-host')).toMatch(/^DOCKER_HOST: .*only with --allow-remote/);
    expect(dockerHostRefusal('ssh://me@build-host')).not.toMatch(/me@/);
  });
});

describe('no redirect is followed', () => {
  let redirector: Server;
  let elsewhere: Server;
  const seenElsewhere: { method?: string; body: string }[] = [];
  let base = '';
  let other = '';

  const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
  const bodyOf = (req: IncomingMessage) => new Promise<string>((r) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => r(b));
  });

  beforeAll(async () => {
    // "elsewhere" stands for the host a hostile redirect points at: it must never get a request
    elsewhere = createServer(async (req, res) => {
      seenElsewhere.push({ method: req.method, body: await bodyOf(req) });
      res.end('{"access_token":"x"}');
    });
    other = await listen(elsewhere);
    redirector = createServer((req, res) => {
      res.writeHead(307, { location: `${other}${req.url}` });
      res.end();
    });
    base = await listen(redirector);
  });
  afterAll(async () => {
    await new Promise((r) => redirector.close(r));
    await new Promise((r) => elsewhere.close(r));
  });

  it('guardedFetch returns the 307 as it is', async () => {
    const res = await guardedFetch(`${base}/health`);
    expect(res.status).toBe(307);
    expect(seenElsewhere).toEqual([]);
  });

  it("the drill's login probe does not send the password where the 307 points, and says why it failed", async () => {
    const target: TargetFile = {
      version: 1, name: 't', chatUrl: base, authUrl: base, wsUrl: `${base.replace('http', 'ws')}/ws`, tenantId: 'default',
      login: { email: 'admin@example.com', password: 'probe-password-1' },
      dbmanNodes: [{ name: 'dbman-1', url: base, faults: {} }], chatInstances: [], sessionInstances: [], tenanthubInstances: [], loadBalancers: [],
    };
    const checks = await steadyState(target, 2000);
    const login = checks.find((c) => c.what === 'probe: login')!;
    expect(login.ok).toBe(false);
    expect(login.detail).toMatch(/^307 answered 307 redirect to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/auth\/login, not followed$/);
    expect(checks.find((c) => c.what === 'dbman-1 /health/ready')!.ok).toBe(false);
    expect(seenElsewhere).toEqual([]);
  });

  it('refuses a host outside loopback before sending anything, unless --allow-remote set the policy', async () => {
    await expect(guardedFetch('http://192.0.2.255:9/x')).rejects.toThrow(ConnectionRefusedByRule);
    await expect(guardedFetch('http://u:p@127.0.0.1:9/x')).rejects.toThrow(/not contacting http:\/\/\*\*\*@127\.0\.0\.1:9\/x: .*credentials/);
    allowRemoteConnections(true);
    try {
      await expect(guardedFetch('http://u:p@192.0.2.1:9/x')).rejects.toThrow(/credentials/);
    } finally {
      allowRemoteConnections(false);
    }
  });
});
