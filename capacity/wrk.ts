/**
 * wrk, the native HTTP load tool the suite's REST rate is compared with: found on PATH, or installed from the
 * Debian package `wrk` with apt-get when missing and root; otherwise the comparison is skipped with a message.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { LogFn } from '../runner/log.js';

const execFileP = promisify(execFile);

async function onPath(): Promise<boolean> {
  try {
    await execFileP('sh', ['-c', 'command -v wrk']);
    return true;
  } catch {
    return false;
  }
}

/** True when wrk can run (installing it when root); `why` says what is missing otherwise. */
export async function ensureWrk(log: LogFn): Promise<{ ok: true } | { ok: false; why: string }> {
  if (await onPath()) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, why: 'wrk is not installed and this is not root: install the Debian package wrk (apt-get install wrk) to compare with it' };
  log('wrk missing: apt-get install -y wrk');
  const install = () => execFileP('apt-get', ['install', '-y', '-q', 'wrk'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 });
  try {
    await install().catch(async () => {
      await execFileP('apt-get', ['update', '-q'], { timeout: 300_000 });
      await install();
    });
  } catch (err) {
    return { ok: false, why: `apt-get install wrk failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return (await onPath()) ? { ok: true } : { ok: false, why: 'apt-get installed wrk but it is not on PATH' };
}

export interface WrkReport {
  requests: number;
  requestsPerS: number;
  /** non-2xx/3xx answers plus socket errors. */
  failed: number;
}

/** Reads wrk's report: `N requests in …`, `Requests/sec: x`, `Non-2xx or 3xx responses: n`, `Socket errors: …`. */
export function parseWrkReport(text: string): WrkReport | undefined {
  const requests = /^\s*(\d+) requests in /m.exec(text);
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!requests || !rate) return undefined;
  const non2xx = Number(/^\s*Non-2xx or 3xx responses: (\d+)/m.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { requests: Number(requests[1]), requestsPerS: Number(rate[1]), failed: non2xx + socketErrors };
}

export interface WrkRun {
  pid: number;
  done: Promise<{ code: number | null; output: string }>;
}

/** wrk with `threads` threads and `connections` connections for `durationS` on one URL, with a bearer header. */
export function startWrk(url: string, o: { threads: number; connections: number; durationS: number; token: string }): WrkRun {
  const child = spawn('wrk', ['-t', String(o.threads), '-c', String(o.connections), '-d', `${Math.round(o.durationS)}s`, '-H', `Authorization: Bearer ${o.token}`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.once('error', (err) => (clearTimeout(killer), resolve({ code: null, output: String(err) })));
    child.once('close', (code) => (clearTimeout(killer), resolve({ code, output })));
  });
  return { pid: child.pid ?? -1, done };
}
