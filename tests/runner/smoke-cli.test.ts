/**
 * `npm run smoke` end to end, through the real CLI:
 * - one bad input per kind of setting exits 2 with one line naming it, and sends nothing (a listening socket,
 *   given as the target, records every connection);
 * - against the reference target the smoke passes: exit 0, summary.json verdict pass, reports/latest;
 * - with every dbman node of the target stopped the admin login fails: the load is not started, exit 1 naming it.
 * Integration runs are sequential (vitest runs files one at a time) and short.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, reportsDir } from '../../runner/paths.js';
import { ensureK6 } from '../../runner/provision.js';
import { readRunSummary } from '../../runner/summary.js';
import { startStack, stopStack } from '../../reference-target/launcher/stack.js';
import { readTargetFile, type TargetFile } from '../../runner/target-file.js';
import type { IntegrityReport } from '../../integrity/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const TSX = join(repoRoot, 'node_modules/tsx/dist/cli.mjs');

interface CliResult { code: number | null; stdout: string; stderr: string; ms: number }

function smoke(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 300_000): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const cleanEnv: Record<string, string | undefined> = { ...process.env };
    for (const k of ['CHAT_URL', 'AUTH_URL', 'WS_URL', 'TENANT_ID', 'LOGIN_EMAIL', 'LOGIN_PASSWORD', 'TARGET_FLAWS', 'SCALE', 'DURATION', 'PROFILE', 'FAULT_WINDOWS', 'USER_POOL']) delete cleanEnv[k];
    const child = spawn(process.execPath, [TSX, 'runner/cli/smoke.ts', ...args], { cwd: repoRoot, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

/** A TCP listener that records every connection made to it (HTTP or WebSocket alike) and answers 503 at once. */
async function recorder(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 21\r\nconnection: close\r\n\r\n{"error":"recorder"}\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, connections: () => connections, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

// A fresh clone builds k6 here, once, outside any test's time limit.
beforeAll(async () => {
  await ensureK6({ log: () => {} });
}, 600_000);

describe('bad input: exit 2, one line naming the setting, nothing sent', () => {
  let rec: Awaited<ReturnType<typeof recorder>>;
  let env: Record<string, string>;
  let goodFile: string;
  let remoteFile: string;
  beforeAll(async () => {
    rec = await recorder();
    const base = `127.0.0.1:${rec.port}`;
    env = { CHAT_URL: `http://${base}`, AUTH_URL: `http://${base}`, WS_URL: `ws://${base}/ws`, TENANT_ID: 'default', LOGIN_EMAIL: 'admin@example.com', LOGIN_PASSWORD: 'not-a-real-pw-77' };
    const dir = mkdtempSync(join(tmpdir(), 'smoke-cli-'));
    const file = { version: 1, name: 'recorder', chatUrl: env.CHAT_URL, authUrl: env.AUTH_URL, wsUrl: env.WS_URL, tenantId: 'default', login: { email: 'admin@example.com', password: 'not-a-real-pw-77' } };
    goodFile = join(dir, 'good.json');
    writeFileSync(goodFile, JSON.stringify(file));
    remoteFile = join(dir, 'remote.json');
    writeFileSync(remoteFile, JSON.stringify({ ...file, wsUrl: 'ws://192.0.2.40:8080/ws' }));
  });
  afterAll(async () => {
    await rec.close();
  });

  const cases: [string, () => string[], () => Record<string, string>, string][] = [
    ['a flag (unknown)', () => ['--target', goodFile, '--frobnicate'], () => ({}), '--frobnicate'],
    ['a flag value (profile)', () => ['--target', goodFile, '--profile', 'galactic'], () => ({}), '--profile'],
    ['the target file (outside loopback)', () => ['--target', remoteFile], () => ({}), '--target wsUrl'],
    ['a target variable (WS_URL scheme)', () => [], () => ({ ...env, WS_URL: env.CHAT_URL! }), 'WS_URL'],
    ['a target variable (missing LOGIN_PASSWORD)', () => [], () => ({ ...env, LOGIN_PASSWORD: '' }), 'LOGIN_PASSWORD'],
    ['a k6 setting (SCALE)', () => ['--target', goodFile], () => ({ SCALE: 'many' }), 'SCALE'],
    ['a k6 setting (FAULT_WINDOWS)', () => [], () => ({ ...env, FAULT_WINDOWS: '[[30,10]]' }), 'FAULT_WINDOWS'],
    ['a reference-target setting (TARGET_FLAWS)', () => [], () => ({ TARGET_FLAWS: 'teleport' }), 'TARGET_FLAWS'],
    ['an integrity setting (INTEGRITY_SETTLE_MS)', () => ['--target', goodFile], () => ({ INTEGRITY_SETTLE_MS: '3s' }), 'INTEGRITY_SETTLE_MS'],
    ['an integrity target (INTEGRITY_LOST_TARGET)', () => ['--target', goodFile], () => ({ INTEGRITY_LOST_TARGET: '5%' }), 'INTEGRITY_LOST_TARGET'],
    ['an SLO limit (SLO readAfterWriteMissMax)', () => ['--target', goodFile], () => ({ SLO: '{"whole":{"readAfterWriteMissMax":2}}' }), 'SLO'],
  ];
  it.each(cases)('%s', async (_label, args, extraEnv, setting) => {
    const before = rec.connections();
    const r = await smoke(args(), extraEnv(), 60_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`smoke: ${setting}:`) || lines[0]!.startsWith(`smoke: ${setting} `)).toBe(true);
    expect(r.stderr).not.toContain('not-a-real-pw-77');
    expect(rec.connections()).toBe(before);
  }, 60_000);

  it('the recorder does see a run that gets past validation (the "nothing sent" check can fail)', async () => {
    // A valid target at the recorder, given by environment: the smoke gets to k6, whose login reaches the socket.
    const r = await smoke([], { ...env, DURATION: '5s' }, 240_000);
    expect(r.code).toBe(1);
    expect(rec.connections()).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/target: environment \(CHAT_URL, AUTH_URL, WS_URL from the environment\), not started or stopped by the smoke/);
    // a target without session and tenanthub URLs runs without the msa part and says so (smoke and k6's setup)
    expect(r.stderr).toMatch(/\[smoke\] msa part off: SESSION_URL and TENANTHUB_URL not set/);
    expect(readFileSync(join(reportsDir, 'latest', 'k6.log'), 'utf8')).toMatch(/suite: msa part off: SESSION_URL and TENANTHUB_URL not set/);
    expect(readRunSummary(join(reportsDir, 'latest', 'summary.json')).thresholds.some((t) => t.id?.startsWith('msa.'))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain('not-a-real-pw-77');
    expect(readFileSync(join(reportsDir, 'latest', 'k6.log'), 'utf8')).not.toContain('not-a-real-pw-77');
  }, 300_000);

  it('--help prints the usage and exits 0, sending nothing', async () => {
    const before = rec.connections();
    const r = await smoke(['--help'], env, 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run smoke -- \[--target <file>\] \[--profile <name>\] \[--allow-remote\] \[--help\]/);
    expect(rec.connections()).toBe(before);
  });
});

describe('against the reference target', () => {
  it('passes: exit 0, summary.json verdict pass, reports/latest points at the run', async () => {
    const r = await smoke([]);
    if (r.code !== 0) console.error(r.stdout, r.stderr.slice(-4000));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verdict: PASS \(\d+ thresholds held\)/m);
    const latest = join(reportsDir, 'latest');
    const runId = readlinkSync(latest);
    expect(r.stdout).toContain(`run: ${runId}`);
    const s = readRunSummary(join(latest, 'summary.json'));
    expect(s).toMatchObject({ runId, kind: 'smoke', profile: 'smoke', verdict: 'pass', errors: [], k6Version: 'v1.8.1' });
    expect(s.thresholds.length).toBeGreaterThan(3);
    expect(s.thresholds.every((t) => t.result === 'pass' && t.samples > 0)).toBe(true);
    // the msa part ran against the reference target's session and tenanthub, with the owners' thresholds
    expect(r.stderr).toMatch(/\[smoke\] msa part on: session http:\/\/127\.0\.0\.1:\d+, tenanthub http/);
    expect(s.thresholds.map((t) => t.id)).toEqual(expect.arrayContaining(['msa.error_rate', 'msa.http_p95', 'msa.chat.message_p95', 'msa.session.status_p95', 'msa.tenanthub.tenants_p95', 'msa.session.error_rate']));
    expect(s.target.reference).toBe(true);
    // the healthy target: 0 of every integrity anomaly, every check judged something, the repeats refused
    const integrity = JSON.parse(readFileSync(join(latest, 'integrity.json'), 'utf8')) as IntegrityReport;
    for (const k of ['lost', 'duplicates', 'undelivered', 'reordered', 'late', 'unverified', 'duplicateDeliveries', 'idempotency', 'indeterminate'] as const) expect(integrity.counts[k], k).toBe(0);
    expect(integrity.details.messages).toBeGreaterThan(250);
    expect(integrity.details.socketsJudged).toBe(16); // 6 ws part sockets, 2 × (1 + 4) hot room sockets
    expect(integrity.details.repeatsJudged).toBeGreaterThan(10);
    expect(integrity.details.repeatAnswers).toEqual({ refused: integrity.details.repeatsJudged });
    expect(integrity.details.readAfterWrite).toMatchObject({ missed: 0 });
    expect(integrity.details.readAfterWrite.judged).toBeGreaterThan(60);
    expect(integrity.bounds.lost.upper95).toBeLessThan(0.013);
    expect(s.thresholds.find((t) => t.id === 'ws_sends_skipped')).toMatchObject({ result: 'pass', observed: 0 });
    // the hot room's offered load: 2 publishers × 15 scheduled messages, each sent or skipped (a window a stalled
    // generator never visited is not counted), and said so
    expect(s.hotRoom!.scheduled).toBeGreaterThanOrEqual(25);
    expect(s.hotRoom!.scheduled).toBeLessThanOrEqual(30);
    expect(s.hotRoom!.sent + s.hotRoom!.skipped).toBe(s.hotRoom!.scheduled);
    expect(r.stdout).toMatch(new RegExp(`^hot room: the publishers sent ${s.hotRoom!.sent} of ${s.hotRoom!.scheduled} scheduled messages`, 'm'));
    expect(r.stdout).toMatch(/^  lost\s+0  \(limit 0\)  \(of \d+; 95 % bound 1(\.\d+)? %\)$/m);
    for (const k of ['provisionMs', 'buildMs', 'targetStartMs', 'loadMs', 'teardownMs'] as const) expect(s.durations[k]).toBeGreaterThan(0);
    for (const f of Object.values(s.files)) expect(existsSync(join(latest, f))).toBe(true);
    // No credentials anywhere in the run dir's text files, nor in the output.
    const password = 'pass1234';
    for (const f of ['summary.json', 'junit.xml', 'k6.log', 'k6-summary.json']) {
      const text = readFileSync(join(latest, f), 'utf8');
      expect(text).not.toContain(password);
      expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/); // no JWT
    }
    expect(r.stdout + r.stderr).not.toContain(password);
    expect(realpathSync(latest)).toBe(join(reportsDir, runId));
    // The reference target was stopped: its target file is gone.
    expect(r.stderr).toMatch(/\[teardown\] done in/);
    const targetFile = /starting the reference target \((.+)\)$/m.exec(r.stderr)![1]!;
    expect(existsSync(targetFile)).toBe(false);
  }, 420_000);

  it('SIGTERM during the load: k6 stopped, the target stopped, exit 143', async () => {
    const child = spawn(process.execPath, [TSX, 'runner/cli/smoke.ts'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let targetFile: string | undefined;
    let target: TargetFile | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      targetFile ??= /starting the reference target \((.+)\)$/m.exec(stderr)?.[1];
      if (!target && /\[load\] running \(/.test(stderr)) {
        target = readTargetFile(targetFile!);
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(143);
    expect(target).toBeDefined();
    expect(stderr).toMatch(/SIGTERM: stopping k6 and the target/);
    expect(stderr).toMatch(/\[teardown\] done in/);
    expect(existsSync(targetFile!)).toBe(false);
    const pids = [...target!.dbmanNodes, ...target!.chatInstances].map((c) => c.faults.pid!);
    expect(pids.length).toBe(5);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 300_000);

  it('with every dbman node stopped: the admin login (a required fixture) fails, the load is not started, exit 1 naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smoke-dead-'));
    const stack = await startStack({ targetFilePath: join(dir, 'target.json'), flaws: [] });
    try {
      const pids = stack.target.dbmanNodes.map((n) => n.faults.pid);
      expect(pids.length).toBeGreaterThan(1);
      for (const pid of pids) process.kill(pid!, 'SIGKILL');
      const r = await smoke(['--target', stack.targetFilePath]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^ {2}setup FAILED \(admin login, required\): 1 × POST \/api\/v1\/auth\/login → \d+ "[^"]+": the load was not started$/m);
      expect(r.stdout).toMatch(/^verdict: FAIL .*setup failed, the load was not started: admin login failed/m);
      const s = readRunSummary(join(reportsDir, 'latest', 'summary.json'));
      expect(s.verdict).toBe('fail');
      expect(s.setup).toMatchObject({ ready: false, failures: [expect.objectContaining({ fixture: 'admin login', required: true })] });
      expect(s.errors[0]).toMatch(/^setup failed, the load was not started: admin login failed/);
      // no load was sent: nothing was judged, and k6's own abort is not reported as a crash
      expect(s.thresholds).toEqual([]);
      expect(s.errors.join(' ')).not.toMatch(/k6 exited with code 108/);
    } finally {
      await stopStack(stack.targetFilePath);
    }
  }, 420_000);
});
