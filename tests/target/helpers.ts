/** Helpers for the target tests: real local HTTP servers (ok, 4xx, 5xx, hanging) and a free port nobody listens on. */
import http from 'node:http';
import type { Socket } from 'node:net';
import { freePorts } from '../../target/launcher/ports.js';

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
