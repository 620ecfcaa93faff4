/**
 * The slow path of a slow-consumer drill: a toxiproxy-server of the drill's own, with one proxy `ws-slow` in
 * front of the target's room WebSocket (the host and port of the target file's wsUrl). The slow hot-room
 * subscribers connect through it (SLOW_CONSUMERS.wsUrl); during the span the drill injects a `bandwidth` toxic on
 * it (downstream, ~1 KB/s), so chat's writes to those sockets back up as to a phone that stops reading. The
 * proxy is a fault target like any other (`ws-slow`, faults.toxiproxy), so the ledger, heal and `npm run chaos
 * -- heal` work unchanged; the drill stops the server at teardown, which also drops any toxic left.
 *
 * Plain TCP: a wss:// target would see the TLS name of 127.0.0.1, so the slow path refuses it (exit 2).
 */
import type { Component } from '../runner/target-file.js';
import { UsageError } from './cli/args.js';
import { hostPortOf, proxyLink, startToxiproxy, type ToxiproxyServer } from './toxiproxy/server.js';

export const SLOW_PATH_NODE = 'ws-slow';

export interface SlowPath {
  /** The fault target `ws-slow`. */
  component: Component;
  /** The slow subscribers' WebSocket URL (through the proxy). */
  wsUrl: string;
  stop(): Promise<void>;
}

/** host:port and path of a ws:// URL; a UsageError for wss:// or anything else. */
export function wsHostPort(wsUrl: string): { hostPort: string; path: string } {
  if (!/^ws:\/\//.test(wsUrl)) throw new UsageError(`slowConsumers: the target's wsUrl ${wsUrl} is not ws:// (the slow path is a plain TCP proxy; wss:// is not supported)`);
  return { hostPort: hostPortOf(wsUrl), path: new URL(wsUrl).pathname };
}

export async function startSlowPath(wsUrl: string, log: (l: string) => void): Promise<SlowPath> {
  const { hostPort, path } = wsHostPort(wsUrl);
  const server: ToxiproxyServer = await startToxiproxy();
  try {
    const p = await proxyLink(server.apiUrl, SLOW_PATH_NODE, hostPort);
    log(`slow path: toxiproxy ${server.apiUrl}, proxy ${SLOW_PATH_NODE} ${p.listen} → ${hostPort}`);
    return {
      component: { name: SLOW_PATH_NODE, url: `http://${p.listen}`, faults: { toxiproxy: p.toxiproxy } },
      wsUrl: `ws://${p.listen}${path}`,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
