import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARIABLES, isLoopbackUrl, parseConfig, parseFaultWindows, urlHost } from '../../lib/config.js';

const GOOD = {
  CHAT_URL: 'http://127.0.0.1:8080',
  AUTH_URL: 'http://127.0.0.1:8091/',
  WS_URL: 'ws://127.0.0.1:8080/ws',
  TENANT_ID: 'default',
  LOGIN_EMAIL: 'admin@example.com',
  LOGIN_PASSWORD: 'pass1234',
} as const;

describe('parseConfig', () => {
  it('parses a complete environment with defaults', () => {
    const c = parseConfig(GOOD);
    expect(c).toMatchObject({
      chatUrl: 'http://127.0.0.1:8080',
      authUrl: 'http://127.0.0.1:8091',
      wsUrl: 'ws://127.0.0.1:8080/ws',
      tenantId: 'default',
      profile: 'smoke',
      runId: undefined,
      faultWindows: [],
      summaryPath: undefined,
      scale: 1,
      durationS: undefined,
      userPool: undefined,
      allowRemote: false,
      instance: '0',
    });
  });

  it('takes the scenario default profile unless PROFILE is set', () => {
    expect(parseConfig(GOOD, 'failover').profile).toBe('failover');
    expect(parseConfig({ ...GOOD, PROFILE: 'stage3' }, 'failover').profile).toBe('stage3');
  });

  it('parses every optional variable', () => {
    const c = parseConfig({
      ...GOOD,
      PROFILE: 'failover',
      RUN_ID: 'run-1.a_b',
      FAULT_WINDOWS: '[[20,40],[50.5,60]]',
      SUMMARY_PATH: '/tmp/x/k6-summary.json',
      SCALE: '0.05',
      DURATION: '2m30s',
      USER_POOL: '0',
      ALLOW_REMOTE: 'true',
      INSTANCE: 'seg-2',
      CHAT_URL: 'https://chat.staging.example.com',
    });
    expect(c).toMatchObject({
      profile: 'failover',
      runId: 'run-1.a_b',
      faultWindows: [
        [20, 40],
        [50.5, 60],
      ],
      summaryPath: '/tmp/x/k6-summary.json',
      scale: 0.05,
      durationS: 150,
      userPool: 0,
      allowRemote: true,
      instance: 'seg-2',
    });
  });

  it('lists every variable it reads', () => {
    expect(ENV_VARIABLES).toEqual(expect.arrayContaining([...Object.keys(GOOD), 'PROFILE', 'RUN_ID', 'FAULT_WINDOWS', 'SUMMARY_PATH']));
  });

  // Each bad value: the error names the variable, says what is allowed, is one line.
  const BAD: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['CHAT_URL', { CHAT_URL: undefined }, /CHAT_URL: the chat REST base URL.*not set/],
    ['CHAT_URL', { CHAT_URL: 'ftp://127.0.0.1' }, /CHAT_URL: .*http:\/\/ or https:\/\//],
    ['CHAT_URL', { CHAT_URL: '127.0.0.1:8080' }, /CHAT_URL/],
    ['CHAT_URL', { CHAT_URL: 'http://192.0.2.5:8080' }, /CHAT_URL: a loopback URL .*ALLOW_REMOTE=1/],
    ['AUTH_URL', { AUTH_URL: '' }, /AUTH_URL: .*not set/],
    ['AUTH_URL', { AUTH_URL: 'http://orghub.internal' }, /AUTH_URL: a loopback URL/],
    ['WS_URL', { WS_URL: 'http://127.0.0.1:8080/ws' }, /WS_URL: .*ws:\/\/ or wss:\/\//],
    ['WS_URL', { WS_URL: 'wss://example.com/ws' }, /WS_URL: a loopback URL/],
    ['TENANT_ID', { TENANT_ID: ' default' }, /TENANT_ID: a non-empty tenant id/],
    ['TENANT_ID', { TENANT_ID: undefined }, /TENANT_ID: .*not set/],
    ['LOGIN_EMAIL', { LOGIN_EMAIL: undefined }, /LOGIN_EMAIL: .*not set/],
    ['LOGIN_PASSWORD', { LOGIN_PASSWORD: '' }, /LOGIN_PASSWORD: .*not set/],
    ['PROFILE', { PROFILE: 'stage4' }, /PROFILE: one of smoke, baseline, stage1, stage2, stage3, failover; got "stage4"/],
    ['RUN_ID', { RUN_ID: 'a b' }, /RUN_ID: 1 to 64 characters/],
    ['RUN_ID', { RUN_ID: 'x'.repeat(65) }, /RUN_ID/],
    ['RUN_ID', { RUN_ID: 'a:b' }, /RUN_ID/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: 'not json' }, /FAULT_WINDOWS: a JSON array of \[startS, endS\] pairs/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: '[[40,20]]' }, /FAULT_WINDOWS/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: '[[10,30],[20,40]]' }, /FAULT_WINDOWS/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: '[[-1,3]]' }, /FAULT_WINDOWS/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: '[[1,2,3]]' }, /FAULT_WINDOWS/],
    ['FAULT_WINDOWS', { FAULT_WINDOWS: '{"a":1}' }, /FAULT_WINDOWS/],
    ['SUMMARY_PATH', { SUMMARY_PATH: '  ' }, /SUMMARY_PATH: a file path/],
    ['SCALE', { SCALE: '0' }, /SCALE: a decimal number > 0 and <= 1000/],
    ['SCALE', { SCALE: '-1' }, /SCALE/],
    ['SCALE', { SCALE: 'abc' }, /SCALE/],
    ['SCALE', { SCALE: '1001' }, /SCALE/],
    ['DURATION', { DURATION: '5 minutes' }, /DURATION: a duration from 5s to 6h/],
    ['DURATION', { DURATION: '1s' }, /DURATION/],
    ['DURATION', { DURATION: '7h' }, /DURATION/],
    ['USER_POOL', { USER_POOL: '1.5' }, /USER_POOL: an integer from 0 to 1000/],
    ['USER_POOL', { USER_POOL: '1001' }, /USER_POOL/],
    ['ALLOW_REMOTE', { ALLOW_REMOTE: 'maybe' }, /ALLOW_REMOTE: one of 1, 0, true, false/],
    ['INSTANCE', { INSTANCE: 'a/b' }, /INSTANCE: 1 to 16 characters/],
    ['SLO', { SLO: '{' }, /SLO: a JSON object/],
    ['SLO', { SLO: '{"whole":{"storeP95":3}}' }, /SLO: .*\(at whole\)/],
    ['SLO', { SLO: '{"phases":{"fault":{"errorRateMax":2}}}' }, /SLO: .*\(at phases\.fault\.errorRateMax\)/],
    ['SLO', { SLO: '{"phases":{"outage":{}}}' }, /SLO: .*\(at phases\)/],
    ['SLO', { SLO: '{"abort":{"delayS":-1}}' }, /SLO: .*\(at abort\.delayS\)/],
  ];

  it.each(BAD)('rejects bad %s: %j', (variable, over, message) => {
    let caught: unknown;
    try {
      parseConfig({ ...GOOD, ...over });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.variable).toBe(variable);
    expect(e.message.startsWith(`${variable}: `)).toBe(true);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });

  it('parses SLO overrides', () => {
    const c = parseConfig({ ...GOOD, SLO: '{"whole":{"listP95Ms":700},"phases":{"fault":{"httpP95Ms":6000}},"abort":{"delayS":30}}' });
    expect(c.sloOverrides).toEqual({ whole: { listP95Ms: 700 }, phases: { fault: { httpP95Ms: 6000 } }, abort: { delayS: 30 } });
    expect(parseConfig(GOOD).sloOverrides).toBeUndefined();
    // a chat-instance drill's reconnect-time limit (lib/slo.ts PhaseSlo.wsReconnectP95Ms)
    expect(parseConfig({ ...GOOD, SLO: '{"phases":{"fault":{"wsReconnectP95Ms":5000}}}' }).sloOverrides).toEqual({ phases: { fault: { wsReconnectP95Ms: 5000 } } });
    expect(() => parseConfig({ ...GOOD, SLO: '{"phases":{"fault":{"wsReconnectP95Ms":0}}}' })).toThrow(/SLO: .*\(at phases\.fault\.wsReconnectP95Ms\)/);
  });

  it('never echoes the password', () => {
    expect(() => parseConfig({ ...GOOD, LOGIN_PASSWORD: 'x'.repeat(600) })).toThrow(/LOGIN_PASSWORD: .*got \(hidden\)/);
    try {
      parseConfig({ ...GOOD, LOGIN_PASSWORD: 'x'.repeat(600) });
    } catch (err) {
      expect((err as Error).message).not.toContain('xxxx');
    }
  });

  it('allows remote URLs only with ALLOW_REMOTE', () => {
    const remote = { ...GOOD, CHAT_URL: 'https://chat.example.com', AUTH_URL: 'https://auth.example.com', WS_URL: 'wss://chat.example.com/ws' };
    expect(() => parseConfig(remote)).toThrow(ConfigError);
    expect(() => parseConfig({ ...remote, ALLOW_REMOTE: '0' })).toThrow(ConfigError);
    expect(parseConfig({ ...remote, ALLOW_REMOTE: '1' }).allowRemote).toBe(true);
  });
});

describe('loopback detection', () => {
  it.each([
    ['http://127.0.0.1:8080', true],
    ['http://127.1.2.3', true],
    ['ws://localhost:9/ws', true],
    ['http://[::1]:8080/', true],
    ['http://user@127.0.0.1:1', true],
    ['http://128.0.0.1', false],
    ['http://127.0.0.1.example.com', false],
    ['http://localhost.evil.com', false],
    ['https://example.com', false],
  ] as const)('%s → %s', (url, loop) => {
    expect(isLoopbackUrl(url)).toBe(loop);
  });
  it('extracts the host', () => {
    expect(urlHost('http://a:b@Example.COM:80/x')).toBe('example.com');
  });
});

describe('parseFaultWindows', () => {
  it('is empty when unset or blank', () => {
    expect(parseFaultWindows(undefined)).toEqual([]);
    expect(parseFaultWindows(' ')).toEqual([]);
    expect(parseFaultWindows('[]')).toEqual([]);
  });
  it('keeps touching windows', () => {
    expect(parseFaultWindows('[[0,10],[10,20]]')).toEqual([
      [0, 10],
      [10, 20],
    ]);
  });
});
