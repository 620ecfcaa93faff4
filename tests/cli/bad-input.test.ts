/**
 * Bad input to every CLI: exit 2, one line on stderr that starts with the program and names the flag, variable or
 * file key the user typed, and nothing started (no child process: every process inherits a marker the test
 * looks for in /proc) or contacted (the targets point at a listener of the test's own, which counts
 * connections). Prints, per CLI, the cases and the time to refuse (median, max). Runs three CLIs at a time:
 * about 40-60 s on two shared cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingListener, pool, runCli, type CliName, type CliRun } from './helpers.js';
import { REPO } from '../chaos/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'bad-input-'));
const registry = join(dir, 'stacks');
let listener: Awaited<ReturnType<typeof countingListener>>;
let results: { cli: CliName; label: string; run: CliRun; setting: string }[] = [];

/**
 * A target file whose every URL points at the test's listener, with `change` applied; a file of its own per call
 * (two cases never share one). Its processes are a sleeping stand-in of the test's own: a case that wrongly
 * injects a fault hits it (and is seen: it must stay sleeping and alive), never the test.
 */
let targets = 0;
function target(name: string, change: (t: Record<string, unknown>) => void = () => {}): string {
  const u = listener.url;
  const pid = victim.pid!;
  const t: Record<string, unknown> = {
    version: 1, name, chatUrl: u, authUrl: u, wsUrl: u.replace('http', 'ws') + '/ws', tenantId: 'default',
    login: { email: 'admin@example.com', password: 'pw-secret-7' },
    dbmanNodes: [{ name: 'dbman-1', url: u, faults: { pid, toxiproxy: { apiUrl: u, proxy: 'dbman-1' } } }],
    chatInstances: [{ name: 'chat-1', url: u, faults: { pid } }],
  };
  change(t);
  const file = join(dir, `${name}-${++targets}.json`);
  writeFileSync(file, JSON.stringify(t));
  return file;
}
const node0 = (t: Record<string, unknown>) => (t.dbmanNodes as Record<string, unknown>[])[0]!;
const creds = (t: Record<string, unknown>) => (t.chatUrl = listener.url.replace('//', '//admin:pw-secret-7@'));
const remoteNode = (t: Record<string, unknown>) => (node0(t).url = 'http://192.0.2.7:8080');
/** The stand-in process every target file names, and its state (S: sleeping; T would be a pause). */
let victim: ChildProcess;
const victimStat = () => {
  const s = readFileSync(`/proc/${victim.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] };
};

interface Case {
  cli: CliName;
  label: string;
  args: () => string[];
  env?: () => Record<string, string>;
  /** The name the message must start with (after `<cli>: `). */
  setting: string;
  /** More the line must say. */
  says?: RegExp;
}

const envTarget = () => ({ CHAT_URL: listener.url, AUTH_URL: listener.url, WS_URL: listener.url.replace('http', 'ws') + '/ws', TENANT_ID: 'default', LOGIN_EMAIL: 'a@b.c', LOGIN_PASSWORD: 'pw-secret-7' });

const CASES: Case[] = [
  // npm run smoke
  { cli: 'smoke', label: 'misspelt flag', args: () => ['--profil', 'smoke'], setting: '--profil', says: /did you mean --profile\?/ },
  { cli: 'smoke', label: 'unknown profile', args: () => ['--profile', 'huge'], setting: '--profile' },
  { cli: 'smoke', label: 'target file too large', args: () => ['--target', join(dir, 'huge.json')], setting: '--target', says: /at most 1048576 bytes/ },
  { cli: 'smoke', label: 'URL with credentials', args: () => ['--target', target('creds', creds)], setting: '--target chatUrl', says: /credentials .*login\/users/ },
  { cli: 'smoke', label: 'component URL outside loopback', args: () => ['--target', target('remote-node', remoteNode)], setting: '--target dbmanNodes.0.url', says: /outside loopback/ },
  { cli: 'smoke', label: 'Toxiproxy API outside loopback', args: () => ['--target', target('remote-tp', (t) => (node0(t).faults = { toxiproxy: { apiUrl: 'http://192.0.2.7:8474', proxy: 'p' } }))], setting: '--target dbmanNodes.0.faults.toxiproxy.apiUrl' },
  { cli: 'smoke', label: 'PROFILE in the environment', args: () => [], env: () => ({ PROFILE: 'stage3' }), setting: 'PROFILE', says: /use --profile/ },
  { cli: 'smoke', label: '--allow-remote without a target', args: () => ['--allow-remote'], setting: '--allow-remote' },
  { cli: 'smoke', label: 'bad SCALE', args: () => ['--target', target('ok')], env: () => ({ SCALE: 'lots' }), setting: 'SCALE' },
  { cli: 'smoke', label: 'CHAT_URL with credentials', args: () => [], env: () => ({ ...envTarget(), CHAT_URL: listener.url.replace('//', '//u:pw-secret-7@') }), setting: 'CHAT_URL', says: /without credentials/ },
  { cli: 'smoke', label: 'SESSION_URL with credentials', args: () => [], env: () => ({ ...envTarget(), SESSION_URL: listener.url.replace('//', '//u:pw-secret-7@') }), setting: 'SESSION_URL', says: /without credentials/ },
  { cli: 'smoke', label: 'session instance outside loopback', args: () => ['--target', target('remote-session', (t) => (t.sessionInstances = [{ name: 'session', url: 'http://192.0.2.7:8090', faults: {} }]))], setting: '--target sessionInstances.0.url', says: /outside loopback/ },
  { cli: 'smoke', label: 'unknown key in the target file', args: () => ['--target', target('bogus-key', (t) => (t.bogus = 1))], setting: '--target' },
  { cli: 'smoke', label: 'target file not JSON', args: () => ['--target', join(dir, 'not-json.json')], setting: '--target' },
  // npm run drill
  { cli: 'drill', label: 'unknown node', args: () => ['--fault', 'pause', '--node', 'dbman-9'], setting: '--node', says: /did you mean dbman-1\?/ },
  { cli: 'drill', label: '--at beyond any run', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--at', '30000'], setting: '--at', says: /5s to 6h/ },
  { cli: 'drill', label: 'faults overlapping on different nodes', args: () => ['--file', join(dir, 'overlap.yaml')], setting: `${join(dir, 'overlap.yaml')}: faults.1.at`, says: /starts before fault 0/ },
  { cli: 'drill', label: 'bad SCALE', args: () => ['--fault', 'pause', '--node', 'dbman-1'], env: () => ({ SCALE: '0' }), setting: 'SCALE' },
  { cli: 'drill', label: 'DURATION in the environment', args: () => ['--fault', 'pause', '--node', 'dbman-1'], env: () => ({ DURATION: '60s' }), setting: 'DURATION', says: /use --duration/ },
  { cli: 'drill', label: 'fault the node cannot take', args: () => ['--fault', 'db-cut', '--node', 'chat-1'], setting: '--node', says: /no driver reaches it/ },
  { cli: 'drill', label: 'unusable --ledger', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--ledger', join(dir, 'a-file', 'ledger.jsonl')], setting: '--ledger', says: /is not a folder/ },
  { cli: 'drill', label: 'bad --max-failover', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--max-failover', 'soon'], setting: '--max-failover', says: /not a duration/ },
  { cli: 'drill', label: 'bad --latency-ms', args: () => ['--fault', 'latency', '--node', 'dbman-1', '--latency-ms', 'x'], setting: '--latency-ms' },
  { cli: 'drill', label: 'target node unknown', args: () => ['--fault', 'pause', '--node', 'dbman-2', '--target', target('ok')], setting: '--node', says: /did you mean dbman-1\?/ },
  { cli: 'drill', label: 'target URL with credentials', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--target', target('creds2', (t) => (t.authUrl = listener.url.replace('//', '//x:pw-secret-7@')))], setting: '--target authUrl' },
  { cli: 'drill', label: 'drill file too large', args: () => ['--file', join(dir, 'huge.json')], setting: '--file', says: /at most 1048576 bytes/ },
  { cli: 'drill', label: 'run too short for its window', args: () => ['--fault', 'kill', '--node', 'dbman-1', '--at', '20s', '--for', '20s', '--duration', '30s'], setting: '--for', says: /after the load/ },
  { cli: 'drill', label: '--allow-remote without a target', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--allow-remote'], setting: '--allow-remote' },
  { cli: 'drill', label: '--proxy with a target', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--proxy', '--target', target('ok')], setting: '--proxy' },
  { cli: 'drill', label: '--docker with a target', args: () => ['--fault', 'pause', '--node', 'dbman-1', '--docker', '--target', target('ok')], setting: '--docker' },
  { cli: 'drill', label: 'unknown flaw in TARGET_FLAWS', args: () => ['--fault', 'pause', '--node', 'dbman-1'], env: () => ({ TARGET_FLAWS: 'wobbly' }), setting: 'TARGET_FLAWS' },
  { cli: 'drill', label: 'misspelt flag', args: () => ['--fualt', 'pause', '--node', 'dbman-1'], setting: '--fualt', says: /did you mean --fault\?/ },
  { cli: 'drill', label: 'unknown session node', args: () => ['--fault', 'kill', '--node', 'session-3'], setting: '--node', says: /nodes: .*session/ },
  { cli: 'drill', label: 'unusable CHAOS_LEDGER', args: () => ['--fault', 'pause', '--node', 'dbman-1'], env: () => ({ CHAOS_LEDGER: join(dir, 'a-file', 'l.jsonl') }), setting: 'CHAOS_LEDGER' },
  { cli: 'drill', label: 'storm rate not above 0', args: () => ['--file', join(dir, 'storm-rate.yaml')], setting: `${join(dir, 'storm-rate.yaml')}: storm.rate`, says: />0/ },
  { cli: 'drill', label: 'unknown storm kind', args: () => ['--file', join(dir, 'storm-kind.yaml')], setting: `${join(dir, 'storm-kind.yaml')}: storm.kinds.1`, says: /"not_member"/ },
  { cli: 'drill', label: 'misspelt storm key', args: () => ['--file', join(dir, 'storm-key.yaml')], setting: `${join(dir, 'storm-key.yaml')}: storm.burts`, says: /unknown key/ },
  { cli: 'drill', label: 'slow-consumer share of 1 or more', args: () => ['--file', join(dir, 'slow-share.yaml')], setting: `${join(dir, 'slow-share.yaml')}: slowConsumers.share`, says: /<1/ },
  { cli: 'drill', label: 'Sentinel drill against a target without Sentinel', args: () => ['--file', join(REPO, 'chaos', 'drills', 'sentinel.yaml'), '--target', target('no-sentinel')], setting: 'redisSentinel', says: /has no redisSentinel/ },
  { cli: 'drill', label: 'FAULT_WINDOWS in the environment', args: () => ['--fault', 'pause', '--node', 'dbman-1'], env: () => ({ FAULT_WINDOWS: '[[1,2]]' }), setting: 'FAULT_WINDOWS' },
  // npm run chaos
  { cli: 'chaos', label: 'misspelt command', args: () => ['stauts'], setting: 'stauts', says: /did you mean status\?/ },
  { cli: 'chaos', label: 'no command', args: () => [], setting: 'command' },
  { cli: 'chaos', label: 'unknown fault', args: () => ['inject', '--fault', 'melt', '--node', 'dbman-1', '--target', target('ok')], setting: '--fault' },
  { cli: 'chaos', label: 'unknown node', args: () => ['inject', '--fault', 'pause', '--node', 'dbman-7', '--target', target('ok'), '--ledger', join(dir, 'l.jsonl')], setting: '--node' },
  { cli: 'chaos', label: '--fault with heal', args: () => ['heal', '--fault', 'pause'], setting: '--fault' },
  { cli: 'chaos', label: 'ledger is a folder', args: () => ['status', '--ledger', dir], setting: '--ledger', says: /is not a file/ },
  { cli: 'chaos', label: 'inject into a remote component', args: () => ['inject', '--fault', 'pause', '--node', 'dbman-1', '--target', target('remote-node', remoteNode), '--ledger', join(dir, 'l.jsonl')], setting: '--target dbmanNodes.0.url' },
  { cli: 'chaos', label: '--all with status', args: () => ['status', '--all'], setting: '--all' },
  { cli: 'chaos', label: 'inject without --node', args: () => ['inject', '--fault', 'pause', '--target', target('ok')], setting: '--node' },
  // npm run load
  { cli: 'load', label: 'no command', args: () => [], setting: 'command' },
  { cli: 'load', label: 'misspelt command', args: () => ['plna'], setting: 'plna', says: /did you mean plan\?/ },
  { cli: 'load', label: 'bad segment', args: () => ['--profile', 'stage1', '--segment', '0/3'], env: envTarget, setting: '--segment' },
  { cli: 'load', label: 'plan --bench missing', args: () => ['plan', '--profile', 'stage3', '--bench', join(dir, 'none.json')], setting: '--bench' },
  { cli: 'load', label: 'bad run id', args: () => ['prepare', '--profile', 'stage3', '--run-id', 'a b'], env: envTarget, setting: '--run-id' },
  { cli: 'load', label: 'merge target with credentials', args: () => ['merge', dir, '--target', target('creds', creds)], setting: '--target chatUrl' },
  { cli: 'load', label: 'bad scale', args: () => ['--profile', 'stage1', '--segment', '1/1', '--scale', '0'], env: envTarget, setting: '--scale' },
  { cli: 'load', label: 'tune --sockets 0', args: () => ['tune', '--sockets', '0'], setting: '--sockets' },
  { cli: 'load', label: '--local-parts 0', args: () => ['--profile', 'stage1', '--segment', '1/1', '--local-parts', '0'], env: envTarget, setting: '--local-parts' },
  { cli: 'load', label: '--runner-memory-gib without --runner-cores', args: () => ['plan', '--profile', 'stage3', '--runner-memory-gib', '8'], setting: '--runner-memory-gib' },
  // npm run report
  { cli: 'report', label: 'bad margin', args: () => ['compare', dir, dir, '--p95-margin', 'ten'], setting: '--p95-margin' },
  { cli: 'report', label: 'unknown run', args: () => ['no-such-run-x'], setting: 'no-such-run-x', says: /run not found/ },
  { cli: 'report', label: 'stray argument', args: () => ['index', 'extra'], setting: 'extra' },
  { cli: 'report', label: 'unknown flag', args: () => ['index', '--bogus'], setting: '--bogus' },
  { cli: 'report', label: 'no command', args: () => [], setting: 'command' },
  { cli: 'report', label: 'compare with one run', args: () => ['compare', dir], setting: 'compare' },
  { cli: 'report', label: 'bad --error-margin-pct', args: () => ['compare', dir, dir, '--error-margin-pct', '-1'], setting: '--error-margin-pct' },
  // npm run bench
  { cli: 'bench', label: 'duration out of range', args: () => ['--duration', '1s', '--out', join(dir, 'b.json')], setting: '--duration' },
  { cli: 'bench', label: 'too few sockets', args: () => ['--max-sockets', '10', '--out', join(dir, 'b.json')], setting: '--max-sockets' },
  { cli: 'bench', label: 'unknown part', args: () => ['--only', 'ws'], setting: '--only' },
  { cli: 'bench', label: 'misspelt flag', args: () => ['--durtion', '5s'], setting: '--durtion', says: /did you mean --duration\?/ },
  // npm run stack
  { cli: 'stack', label: 'misspelt command', args: () => ['dwon'], setting: 'dwon', says: /did you mean down\?/ },
  { cli: 'stack', label: 'up-only flag with down', args: () => ['down', '--flaws', 'x'], setting: '--flaws' },
  { cli: 'stack', label: 'unknown flaw', args: () => ['up', '--flaws', 'wobbly', '--target-file', join(dir, 'st.json')], setting: '--flaws' },
  { cli: 'stack', label: 'unknown flaw in TARGET_FLAWS', args: () => ['up', '--target-file', join(dir, 'st.json')], env: () => ({ TARGET_FLAWS: 'wobbly' }), setting: 'TARGET_FLAWS' },
  { cli: 'stack', label: 'remote Docker engine', args: () => ['up', '--docker', '--target-file', join(dir, 'st.json')], env: () => ({ DOCKER_HOST: 'tcp://192.0.2.7:2375' }), setting: 'DOCKER_HOST' },
  { cli: 'stack', label: 'empty --target-file', args: () => ['status', '--target-file', ''], setting: '--target-file' },
];

beforeAll(async () => {
  listener = await countingListener();
  victim = spawn('sleep', ['600'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'huge.json'), `{"version":1,"name":"${'x'.repeat(2 * 1024 * 1024)}"}`);
  writeFileSync(join(dir, 'storm-rate.yaml'), 'storm: { rate: -3 }\n');
  writeFileSync(join(dir, 'storm-kind.yaml'), 'storm: { rate: 5, kinds: [ws_no_body, nonsense] }\n');
  writeFileSync(join(dir, 'storm-key.yaml'), 'storm: { rate: 5, burts: 3 }\n');
  writeFileSync(join(dir, 'slow-share.yaml'), 'slowConsumers: { at: 6, for: 10, share: 1.5 }\n');
  writeFileSync(join(dir, 'overlap.yaml'), 'faults:\n  - {fault: pause, node: dbman-1, at: 10s, for: 20s}\n  - {fault: kill, node: dbman-2, at: 20s, for: 10s}\n');
  writeFileSync(join(dir, 'a-file'), '');
  writeFileSync(join(dir, 'not-json.json'), '{ "version": 1, ');
  mkdirSync(registry);
  const env = { STACK_REGISTRY: registry, CHAOS_LEDGER: join(dir, 'default-ledger.jsonl') };
  const runs = await pool(CASES.map((c) => () => runCli(c.cli, c.args(), { ...env, ...(c.env?.() ?? {}) })), 3);
  results = CASES.map((c, i) => ({ cli: c.cli, label: c.label, run: runs[i]!, setting: c.setting }));
  const by = new Map<CliName, number[]>();
  for (const r of results) by.set(r.cli, [...(by.get(r.cli) ?? []), r.run.ms]);
  for (const [cli, ms] of by) {
    const sorted = [...ms].sort((a, b) => a - b);
    process.stdout.write(`[bad input] ${cli}: ${ms.length} cases, refused in median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms (3 CLIs at a time)\n`);
  }
}, 240_000);

afterAll(async () => {
  victim?.kill('SIGKILL');
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input to every CLI', () => {
  it.each(CASES.map((c, i) => [c.cli, c.label, i] as const))('%s: %s → exit 2, one line naming it, nothing started or contacted', (cli, _label, i) => {
    const { run, setting } = results[i]!;
    const c = CASES[i]!;
    expect(run.timedOut, `still running after the limit: ${run.stdout.slice(-400)}`).toBe(false);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.split('\n').filter((l) => l.trim());
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]!.startsWith(`${cli}: ${setting}:`) || lines[0]!.startsWith(`${cli}: ${setting} `), lines[0]).toBe(true);
    if (c.says) expect(lines[0]).toMatch(c.says);
    expect(lines[0]).not.toContain('pw-secret-7');
    expect(run.children, 'processes started').toEqual([]);
    expect(run.leftOver).toEqual([]);
  });

  it('contacted nothing, registered no stack, and faulted nothing', () => {
    expect(listener.connections()).toBe(0);
    expect(victim.exitCode).toBeNull();
    expect(victimStat().state).toBe('S');
    expect(readdirSync(registry)).toEqual([]);
  });
});
