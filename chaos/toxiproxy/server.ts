/**
 * Starts a toxiproxy-server on a free loopback port and puts one proxy in front of each given node, so that the
 * launcher (`stack up --proxy`) only has to call `startToxiproxy()` then `proxyNodes()` and point the app
 * services' DBMAN_ENDPOINTS at the returned proxy URLs, and write `faults.toxiproxy = {apiUrl, proxy}` per node.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { ensureToxiproxyServer } from '../../harness/provision.js';
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
  /** The toxiproxy-server binary (default: $TOXIPROXY_SERVER, else the harness's pinned one in .tools/bin). */
  binary?: string;
  host?: string;
  /** API port (default: a free one). */
  port?: number;
  /** Server output (default: discarded). */
  logPath?: string;
  /** Keep running after this process exits (the launcher's `stack up` does; tests do not). */
  detached?: boolean;
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

export interface NodeProxy {
  /** The node's name, also the proxy's name. */
  name: string;
  proxy: string;
  /** What the app services should use instead of the node's own URL, e.g. http://127.0.0.1:41234. */
  url: string;
  listen: string;
  upstream: string;
  /** Ready to drop into the target file's `faults.toxiproxy`. */
  toxiproxy: { apiUrl: string; proxy: string };
}

/** Creates one proxy per node (listening on a free loopback port, forwarding to the node's host:port). */
export async function proxyNodes(apiUrl: string, nodes: { name: string; url: string }[]): Promise<NodeProxy[]> {
  const client = new ToxiproxyClient(apiUrl);
  const out: NodeProxy[] = [];
  for (const n of nodes) {
    const u = new URL(n.url);
    const upstream = `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
    const listen = `127.0.0.1:${await freePort()}`;
    const created = await client.createProxy({ name: n.name, listen, upstream, enabled: true });
    out.push({
      name: n.name,
      proxy: created.name,
      url: `${u.protocol}//${created.listen}`,
      listen: created.listen,
      upstream,
      toxiproxy: { apiUrl, proxy: created.name },
    });
  }
  return out;
}

/** What `startStack({dbmanEndpointFor})` (target/launcher/stack.ts) takes per dbman node. */
export interface ProxiedEndpoint {
  url: string;
  toxiproxy: { apiUrl: string; proxy: string };
}

export interface DbmanProxies {
  server: ToxiproxyServer;
  /** Pass as `startStack({ dbmanEndpointFor })`: creates the node's proxy and returns the URL the apps should use. */
  endpointFor: (node: { name: string; url: string }) => Promise<ProxiedEndpoint>;
  /** For the launcher's `reference.processes`, so `stack down` stops the server too (its own process group). */
  procRecord: { name: string; pid: number; group: boolean };
}

/**
 * The whole `stack up --proxy` seam: a toxiproxy-server on a free loopback port and a per-node proxy factory.
 * `detached: true` lets the server outlive the caller (the launcher's `up` exits; `down` stops it by its pid).
 */
export async function startDbmanProxies(opts: StartToxiproxyOptions = {}): Promise<DbmanProxies> {
  const server = await startToxiproxy(opts);
  return {
    server,
    endpointFor: async (node) => {
      const [p] = await proxyNodes(server.apiUrl, [node]);
      return { url: p!.url, toxiproxy: p!.toxiproxy };
    },
    procRecord: { name: 'toxiproxy', pid: server.pid, group: opts.detached ?? false },
  };
}
