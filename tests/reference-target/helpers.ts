/** Helpers for the target tests: real local HTTP servers (ok, 4xx, 5xx, hanging) and a free port nobody listens on. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { freePorts } from '../../reference-target/launcher/ports.js';

export interface TestServer {
  url: string;
  /** Requests received (operation paths). */
  hits: string[];
  close(): Promise<void>;
}

export type Behaviour = 'ok' | 'hang' | { status: number };

/** A real HTTP server that answers every request per `behaviour` (changeable later through `set`). */
export async function startServer(behaviour: Behaviour): Promise<TestServer & { set(b: Behaviour): void }> {
  let b = behaviour;
  const hits: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push(req.url ?? '');
      if (b === 'hang') return; // never answers
      const status = b === 'ok' ? 200 : b.status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status < 400 ? { ok: true, echo: Buffer.concat(chunks).toString() } : { error: `status ${status}` }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    set: (nb) => {
      b = nb;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A loopback URL on which nothing listens (connection refused). */
export async function refusingUrl(): Promise<string> {
  const [port] = await freePorts(1);
  return `http://127.0.0.1:${port}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the reference target's API, for the stack tests ----

export interface Res<T = any> {
  status: number;
  body: T;
}

/** One HTTP call; the body parsed as JSON when it is JSON. */
export async function call<T = any>(method: string, url: string, opts: { token?: string; body?: unknown; raw?: string } = {}): Promise<Res<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: parsed as T };
}

export class WsConn {
  readonly frames: any[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
  sendRaw(text: string): void {
    this.ws.send(text);
  }
  /** Resolves with the first frame (already received or coming) matching `pred`. */
  async waitFor(pred: (f: any) => boolean, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  close(): Promise<void> {
    return new Promise((r) => {
      if (this.ws.readyState === WebSocket.CLOSED) return r();
      const t = setTimeout(() => this.ws.terminate(), 1000); // a frozen server never answers the close handshake
      this.ws.once('close', () => {
        clearTimeout(t);
        r();
      });
      this.ws.close();
    });
  }
}

/** Opens a WebSocket; resolves with the connection, or with the HTTP status and body of a refused upgrade. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WsConn | Res> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* text */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.on('open', () => resolve(new WsConn(ws)));
    ws.on('error', (err) => reject(err));
  });
}

export async function openWsOk(url: string, headers: Record<string, string> = {}): Promise<WsConn> {
  const r = await openWs(url, headers);
  if (!(r instanceof WsConn)) throw new Error(`upgrade refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

// ---- stacks with proxies and balancers ----

/** A local process's environment (/proc/<pid>/environ). */
export function environOf(pid: number): Record<string, string> {
  return envFromList(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'));
}

/** NAME=value strings (a process's or a container's environment) as a record. */
export function envFromList(list: string[]): Record<string, string> {
  return Object.fromEntries(list.filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** Polls `pred` every 50 ms until it holds; resolves with the milliseconds it took, throws after `ms`. */
export async function within(ms: number, what: string, pred: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await pred()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** Enables or disables a Toxiproxy proxy through its HTTP API (disabled: connections closed, new ones refused). */
export async function setProxyEnabled(p: { apiUrl: string; proxy: string }, enabled: boolean): Promise<void> {
  const r = await fetch(`${p.apiUrl}/proxies/${p.proxy}`, { method: 'POST', body: JSON.stringify({ enabled }) });
  if (r.status !== 200) throw new Error(`toxiproxy ${p.proxy} enabled=${enabled}: HTTP ${r.status}`);
}

/** An HTTP status, or 0 when the request failed (refused, reset, timeout). */
export const statusOf = (url: string, timeoutMs = 2000): Promise<number> => fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.status, () => 0);
