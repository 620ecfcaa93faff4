/** The smoke's edge: flags, target choice, loopback rule and the k6 environment; every bad input names its setting. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, k6EnvOf, parseSmokeConfig, UsageError } from '../../runner/smoke-config.js';

const dir = mkdtempSync(join(tmpdir(), 'smoke-config-'));
function targetFile(name: string, patch: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    version: 1, name: 'hand-made', chatUrl: 'http://127.0.0.1:18080', authUrl: 'http://127.0.0.1:18091',
    wsUrl: 'ws://127.0.0.1:18080/ws', tenantId: 'default', login: { email: 'a@b.c', password: 'pw-secret-1' }, ...patch,
  }));
  return path;
}
const goodEnv = {
  CHAT_URL: 'http://127.0.0.1:18080', AUTH_URL: 'http://localhost:18091', WS_URL: 'ws://[::1]:18080/ws',
  TENANT_ID: 'default', LOGIN_EMAIL: 'admin@example.com', LOGIN_PASSWORD: 'pass-word-9',
};
const badJson = join(dir, 'bad.json');
writeFileSync(badJson, '{ not json');

describe('loopback rule', () => {
  it.each([
    ['127.0.0.1', true], ['127.255.255.254', true], ['127.1.2.3', true], ['localhost', true], ['LOCALHOST', true],
    ['localhost.', true], ['[::1]', true], ['::1', true], ['0:0:0:0:0:0:0:1', true], ['::ffff:127.0.0.1', true],
    ['128.0.0.1', false], ['10.0.0.1', false], ['192.168.1.10', false], ['172.16.0.1', false], ['0.0.0.0', false],
    ['example.com', false], ['localhost.example.com', false], ['127.0.0.1.nip.io', false], ['[::]', false],
    ['[2001:db8::1]', false], ['::ffff:10.0.0.1', false], ['', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('parseSmokeConfig', () => {
  it('defaults to the reference target and the smoke profile', () => {
    expect(parseSmokeConfig([], {})).toEqual({ help: false, profile: 'smoke', allowRemote: false, target: { kind: 'reference', flaws: [] } });
  });

  it('takes TARGET_FLAWS for the reference target', () => {
    expect(parseSmokeConfig([], { TARGET_FLAWS: 'no-cooldown, single-endpoint' }).target).toEqual({ kind: 'reference', flaws: ['no-cooldown', 'single-endpoint'] });
  });

  it('takes a target file, and a remote one only with --allow-remote', () => {
    const c = parseSmokeConfig(['--target', targetFile('ok'), '--profile', 'baseline'], {});
    expect(c.profile).toBe('baseline');
    expect(c.target.kind).toBe('file');
    const remote = targetFile('remote', { chatUrl: 'https://staging.example.com', authUrl: 'https://staging.example.com', wsUrl: 'wss://staging.example.com/ws' });
    expect(parseSmokeConfig(['--target', remote, '--allow-remote'], {}).allowRemote).toBe(true);
  });

  it('takes the target from the environment', () => {
    const c = parseSmokeConfig([], goodEnv);
    expect(c.target.kind).toBe('env');
    if (c.target.kind === 'env') expect(c.target.target.chatUrl).toBe(goodEnv.CHAT_URL);
  });

  it('takes SESSION_URL and TENANTHUB_URL (env) or sessionUrl and tenanthubUrl (file) for the msa part, on loopback only', () => {
    const c = parseSmokeConfig([], { ...goodEnv, SESSION_URL: 'http://127.0.0.1:18090', TENANTHUB_URL: 'http://127.0.0.1:18092' });
    if (c.target.kind !== 'env') throw new Error('env target expected');
    expect(k6EnvOf(c.target.target, 'smoke', false)).toMatchObject({ SESSION_URL: 'http://127.0.0.1:18090', TENANTHUB_URL: 'http://127.0.0.1:18092' });
    const plain = parseSmokeConfig([], goodEnv).target;
    if (plain.kind !== 'env') throw new Error('env target expected');
    expect(k6EnvOf(plain.target, 'smoke', false)).not.toHaveProperty('SESSION_URL');
    const f = parseSmokeConfig(['--target', targetFile('msa', { sessionUrl: 'http://127.0.0.1:18090', tenanthubUrl: 'http://127.0.0.1:18092' })], {});
    if (f.target.kind !== 'file') throw new Error('file target expected');
    expect(k6EnvOf(f.target.target, 'smoke', false).TENANTHUB_URL).toBe('http://127.0.0.1:18092');
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as UsageError;
      }
      throw new Error('no error');
    };
    expect(err(() => parseSmokeConfig([], { ...goodEnv, SESSION_URL: 'http://192.0.2.5:8090' })).setting).toBe('SESSION_URL');
    expect(err(() => parseSmokeConfig(['--target', targetFile('msa-remote', { tenanthubUrl: 'http://192.0.2.5:8092' })], {})).message).toMatch(/^--target tenanthubUrl: host "192\.0\.2\.5" is outside loopback/);
  });

  it('--help wins', () => {
    expect(parseSmokeConfig(['--help'], {}).help).toBe(true);
  });

  const remoteFile = targetFile('remote2', { authUrl: 'http://192.0.2.5:8091' });
  const badUrlFile = targetFile('badurl', { chatUrl: 'not a url' });
  const cases: [string, string[], Record<string, string>, string][] = [
    ['unknown profile', ['--profile', 'huge'], {}, '--profile'],
    ['empty profile', ['--profile', ''], {}, '--profile'],
    ['unknown flag', ['--bogus'], {}, '--bogus'],
    ['flag without value', ['--target'], {}, '--target'],
    ['boolean flag with a value', ['--allow-remote=yes'], {}, '--allow-remote'],
    ['stray argument', ['extra'], {}, 'extra'],
    ['missing target file', ['--target', join(dir, 'nope.json')], {}, '--target'],
    ['target file not JSON', ['--target', badJson], {}, '--target'],
    ['target file with a bad URL', ['--target', badUrlFile], {}, '--target'],
    ['target file outside loopback', ['--target', remoteFile], {}, '--target authUrl'],
    ['env target incomplete', [], { CHAT_URL: 'http://127.0.0.1:1' }, 'AUTH_URL'],
    ['env target bad scheme', [], { ...goodEnv, CHAT_URL: 'ftp://127.0.0.1:1' }, 'CHAT_URL'],
    ['env WS_URL not ws', [], { ...goodEnv, WS_URL: 'http://127.0.0.1:1/ws' }, 'WS_URL'],
    ['env target outside loopback', [], { ...goodEnv, CHAT_URL: 'http://192.0.2.20:8080' }, 'CHAT_URL'],
    ['env tenant blank', [], { ...goodEnv, TENANT_ID: ' x ' }, 'TENANT_ID'],
    ['unknown flaw', [], { TARGET_FLAWS: 'wobbly' }, 'TARGET_FLAWS'],
    ['unknown flaw with a given target', [], { ...goodEnv, TARGET_FLAWS: 'wobbly' }, 'TARGET_FLAWS'],
    ['bad SCALE', [], { SCALE: '-1' }, 'SCALE'],
    ['bad DURATION', [], { DURATION: 'forever' }, 'DURATION'],
    ['bad FAULT_WINDOWS', [], { FAULT_WINDOWS: '[[5,1]]' }, 'FAULT_WINDOWS'],
    ['bad USER_POOL', [], { USER_POOL: 'lots' }, 'USER_POOL'],
  ];
  it.each(cases)('%s → UsageError naming %s', (_label, argv, env, setting) => {
    let error: unknown;
    try {
      parseSmokeConfig(argv, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    const e = error as UsageError;
    expect(e.setting).toBe(setting);
    expect(e.message.startsWith(`${setting}:`) || e.message.startsWith(`${setting} `)).toBe(true);
    expect(e.message).not.toContain('\n');
    expect(e.message).not.toContain('pass-word-9');
    expect(e.message).not.toContain('pw-secret-1');
  });
});
