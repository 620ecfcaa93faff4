/**
 * The bench endpoint in a child process of its own, so its CPU use is measured apart from the bench's and its
 * event loop never delays the bench's sampling. `node --import tsx capacity/endpoint-process.ts <roomSize>`
 * prints one line `{"port":N}` when it listens and stops on SIGTERM or SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repoRoot } from '../runner/paths.js';
import { startEndpoint } from './endpoint.js';

export interface EndpointProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

/** Starts the endpoint in a child process; resolves when it listens (rejects after 20 s or when it exits). */
export function spawnEndpoint(roomSize: number): Promise<EndpointProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF, String(roomSize)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise<EndpointProcess>((resolve, reject) => {
    const timer = setTimeout(() => void stop().then(() => reject(new Error('bench endpoint: not listening after 20 s'))), 20_000);
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`bench endpoint: exited (${code}) before listening`))));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const port = Number((JSON.parse(line) as { port?: unknown }).port);
      resolve({ url: `http://127.0.0.1:${port}`, pid: child.pid!, stop });
    });
  });
}

/** The k6 environment (lib/config.ts) that aims the suite's scenarios at the endpoint. */
export function k6TargetEnv(endpoint: { url: string }): Record<string, string> {
  return {
    CHAT_URL: endpoint.url,
    AUTH_URL: endpoint.url,
    WS_URL: `${endpoint.url.replace(/^http/, 'ws')}/ws`,
    TENANT_ID: 'bench',
    LOGIN_EMAIL: 'bench@loadtest.invalid',
    LOGIN_PASSWORD: 'bench-password',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const endpoint = await startEndpoint({ roomSize: Number(process.argv[2] ?? 50) });
  process.stdout.write(`${JSON.stringify({ port: endpoint.port })}\n`);
  const end = (): void => void endpoint.close().then(() => process.exit(0));
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
}
