/**
 * Real k6 output for the runner tests: runs tests/runner/fixtures/tiny.js with the real k6 (provisioned by
 * ensureK6, so a fresh clone works) against a node:http server on 127.0.0.1 that answers /ok with 200 and
 * anything else with 500.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ensureK6 } from '../../runner/provision.js';
import { startK6, type K6Run, type K6RunResult } from '../../runner/k6-run.js';
import { repoRoot } from '../../runner/paths.js';

export const TINY_SCRIPT = join(repoRoot, 'tests/runner/fixtures/tiny.js');
export const SECRET_EMAIL = 'fixture-admin@example.com';
export const SECRET_PASSWORD = 'fixture-S3cret-pw';

export async function startHttpServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    setTimeout(() => {
      res.writeHead(req.url === '/ok' ? 200 : 500, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }, 2);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export interface TinyRun {
  run: K6Run;
  result: K6RunResult;
  runDir: string;
  lines: string[];
  events: string[];
  requests: number;
}

/** One run of the tiny script; `log` lines are collected instead of printed. */
export async function runTiny(env: Record<string, string> = {}): Promise<TinyRun> {
  const k6Path = await ensureK6({ log: () => {} });
  const server = await startHttpServer();
  const runDir = await mkdtemp(join(tmpdir(), 'runner-k6-'));
  const lines: string[] = [];
  const events: string[] = [];
  try {
    const run = startK6({
      k6Path,
      script: TINY_SCRIPT,
      runDir,
      env: { CHAT_URL: server.url, LOGIN_EMAIL: SECRET_EMAIL, LOGIN_PASSWORD: SECRET_PASSWORD, RUN_ID: 'tiny', ...env },
      log: (l) => lines.push(l),
      timeoutMs: 60_000,
    });
    run.on('spawn', () => events.push('spawn'));
    run.on('load-start', () => events.push('load-start'));
    run.on('finish', () => events.push('finish'));
    const result = await run.done;
    return { run, result, runDir, lines, events, requests: server.requests() };
  } finally {
    await server.close();
  }
}
