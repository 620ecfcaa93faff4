/**
 * Starts a toxiproxy-server on a free loopback port and creates proxies on it: `proxyLink` for one TCP link
 * (the reference stack's `proxy: true` puts one in front of each dbman node, one on each node's PostgreSQL link
 * and one in front of Redis), `proxyNodes` for a list of HTTP nodes (tests).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { ensureToxiproxyServer } from '../../runner/provision.js';
import { ToxiproxyClient } from './client.js';

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface ToxiproxyServer {
  apiUrl: string;
  pid: number;
  client: ToxiproxyClient;
  stop(): Promise<void>;
}

export interface StartToxiproxyOptions {
  /** The toxiproxy-server binary (default: $TOXIPROXY_SERVER, else the runner's pinned one in .tools/bin). */
  binary?: string;
  host?: string;
  /** API port (default: a free one). */
  port?: number;
  /** Server output (default: discarded). */
  logPath?: string;
  /** Keep running after this process exits (the launcher's `stack up` does; tests do not). */
  detached?: boolean;
  /** The server's environment (default: this process's); the launcher adds its stack marks. */
  env?: NodeJS.ProcessEnv;
}

export async function startToxiproxy(opts: StartToxiproxyOptions = {}): Promise<ToxiproxyServer> {
  const binary = opts.binary ?? process.env.TOXIPROXY_SERVER ?? (await ensureToxiproxyServer());
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  let out: number | 'ignore' = 'ignore';
  if (opts.logPath) {
    mkdirSync(dirname(opts.logPath), { recursive: true });
    out = openSync(opts.logPath, 'a');
  }
  const child = spawn(binary, ['-host', host, '-port', String(port)], {
    stdio: ['ignore', out, out],
    detached: opts.detached ?? false,
    env: opts.env ?? process.env,
  });
  if (typeof out === 'number') closeSync(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const apiUrl = `http://${host}:${port}`;
  const client = new ToxiproxyClient(apiUrl, 1000);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`toxiproxy-server exited with ${child.exitCode} (port ${port})`);
    try {
      await client.version();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`toxiproxy-server did not answer on ${apiUrl} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (opts.detached) child.unref();
  return {
    apiUrl,
    pid: child.pid!,
    client: new ToxiproxyClient(apiUrl),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface LinkProxy {
  /** host:port the proxy listens on (the port chosen by the server). */
  listen: string;
  /** host:port it forwards to. */
  upstream: string;
  /** Ready to drop into the target file's `faults.toxiproxy` or `faults.dbLink`. */
  toxiproxy: { apiUrl: string; proxy: string };
}

/**
 * Creates one enabled proxy named `name` forwarding to `upstream` (host:port), listening on `listenHost` at a
 * port the server picks (port 0, so there is no race for a free port); the answer carries the real address.
 */
export async function proxyLink(apiUrl: string, name: string, upstream: string, listenHost = '127.0.0.1'): Promise<LinkProxy> {
  const created = await new ToxiproxyClient(apiUrl).createProxy({ name, listen: `${listenHost}:0`, upstream, enabled: true });
  return { listen: created.listen, upstream, toxiproxy: { apiUrl, proxy: created.name } };
}

/** host:port of an http(s) URL (default port by scheme). */
export function hostPortOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
}

export interface NodeProxy extends LinkProxy {
  /** The node's name, also the proxy's name. */
  name: string;
  proxy: string;
  /** What the node's clients use instead of the node's own URL, e.g. http://127.0.0.1:41234. */
  url: string;
}

/** Creates one proxy per HTTP node (named after the node, listening on a loopback port, forwarding to its host:port). */
export async function proxyNodes(apiUrl: string, nodes: { name: string; url: string }[]): Promise<NodeProxy[]> {
  const out: NodeProxy[] = [];
  for (const n of nodes) {
    const p = await proxyLink(apiUrl, n.name, hostPortOf(n.url));
    out.push({ ...p, name: n.name, proxy: p.toxiproxy.proxy, url: `${new URL(n.url).protocol}//${p.listen}` });
  }
  return out;
}
