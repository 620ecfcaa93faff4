/**
 * What a reference stack puts on its links, shared by the local and the docker stack:
 *
 * - `proxy: true`: one toxiproxy-server of the stack (API on 127.0.0.1) and a proxy on each link a fault may
 *   need: in front of every dbman node (the path the app services or the dbman LB use), on every dbman node's
 *   PostgreSQL link (`faults.dbLink`) and in front of Redis (the chat instances' REDIS_URL);
 * - `chatLb` / `dbmanLb`: one HAProxy (reference-target/launcher/haproxy.ts) with a frontend per balancer.
 *
 * Both processes carry the stack's marks and are recorded in `procs`, so `stack down` stops them.
 */
import { join } from 'node:path';
import type { LoadBalancer, ToxiproxyProxy } from '../../runner/target-file.js';
import { proxyLink, startToxiproxy, type ToxiproxyServer } from '../../chaos/toxiproxy/server.js';
import { startHaproxy, type HaproxyPlan, type LbServer } from './haproxy.js';
import { freePorts } from './ports.js';
import { procStartTime, type ProcRecord } from './procs.js';

/** The topology switches of `startStack` / `startDockerStack` (and `stack up --proxy --lb --dbman-lb`). */
export interface TopologyOptions {
  /** Toxiproxy proxies in front of every dbman node, on every node's PostgreSQL link and in front of Redis. */
  proxy?: boolean;
  /** HAProxy in front of the chat instances: chatUrl and wsUrl point at it. */
  chatLb?: boolean;
  /** The `dbman-lb` topology: the app services get one dbman URL, HAProxy checking every node's /health/ready. */
  dbmanLb?: boolean;
  /** A Redis replica and three sentinels beside the primary; the chat instances connect through Sentinel (sentinel.ts). */
  redisSentinel?: boolean;
}

/** What a stack start shares with its links: its folder, its process records and log, and its process marks. */
export interface StackContext {
  stateDir: string;
  logsDir: string;
  /** The stack's processes: what starts here is pushed at once, so a failed start stops it too. */
  procs: ProcRecord[];
  log: (l: string) => void;
  /** The environment variables that mark a process as the stack's component (procs.ts). */
  mark: (component: string) => Record<string, string>;
}

/** An address a client is given for a link: the proxy's when proxies are on, else the upstream itself. */
export interface LinkAddress {
  /** host:port. */
  address: string;
  toxiproxy?: ToxiproxyProxy;
}

export class StackLinks {
  private constructor(
    readonly toxiproxy: ToxiproxyServer | undefined,
    /** Where proxies listen: 127.0.0.1, or the Docker network's gateway (containers and host processes reach it). */
    private readonly listenHost: string,
  ) {}

  /** Starts the stack's toxiproxy-server when `proxy` is on (recorded in `procs` as `toxiproxy`). */
  static async start(ctx: StackContext, proxy: boolean, listenHost = '127.0.0.1'): Promise<StackLinks> {
    if (!proxy) return new StackLinks(undefined, listenHost);
    const server = await startToxiproxy({ detached: true, env: { ...process.env, ...ctx.mark('toxiproxy') }, logPath: join(ctx.logsDir, 'toxiproxy.log') });
    ctx.procs.push({ name: 'toxiproxy', pid: server.pid, startTime: procStartTime(server.pid), group: true });
    ctx.log(`toxiproxy-server on ${server.apiUrl} (pid ${server.pid}), proxies on ${listenHost}`);
    return new StackLinks(server, listenHost);
  }

  /**
   * The address for the link to `upstream` (host:port, as the toxiproxy-server reaches it), through a new proxy
   * named `name` when proxies are on; without proxies `direct` (default: `upstream`), e.g. a container's inner name.
   */
  async link(name: string, upstream: string, direct = upstream): Promise<LinkAddress> {
    if (!this.toxiproxy) return { address: direct };
    const p = await proxyLink(this.toxiproxy.apiUrl, name, upstream, this.listenHost);
    return { address: p.listen, toxiproxy: p.toxiproxy };
  }
}

export interface StartedBalancers {
  /** The target file's loadBalancers (chat first, then dbman, session, tenanthub). */
  loadBalancers: LoadBalancer[];
  chat?: LoadBalancer;
  dbman?: LoadBalancer;
  session?: LoadBalancer;
  tenanthub?: LoadBalancer;
  /** For reference.haproxy. */
  haproxy?: { configPath: string; statsUrl: string; pid: number };
}

/** Free ports for the balancers' frontends, taken before the app services start (they need the dbman LB's URL). */
export interface BalancerPorts {
  stats: number;
  chat: number;
  dbman: number;
  session: number;
  tenanthub: number;
}

export async function balancerPorts(o: TopologyOptions, dbmanHost = '127.0.0.1'): Promise<BalancerPorts> {
  if (!o.chatLb && !o.dbmanLb) return { stats: 0, chat: 0, dbman: 0, session: 0, tenanthub: 0 };
  const [stats, chat, session, tenanthub] = (await freePorts(4)) as [number, number, number, number];
  const [dbman] = (await freePorts(1, dbmanHost)) as [number];
  return { stats, chat, dbman, session, tenanthub };
}

/**
 * Starts HAProxy with the balancers asked for (none: nothing starts) and waits until every server is UP.
 * `dbmanHost` is where the dbman LB listens (127.0.0.1, or the Docker gateway so containers reach it).
 */
export async function startBalancers(
  ctx: StackContext,
  o: TopologyOptions,
  s: {
    ports: BalancerPorts;
    dbmanHost?: string;
    chatServers: LbServer[];
    dbmanServers: LbServer[];
    /** With the chat LB: the session and tenanthub instances (each behind a frontend of its own). */
    sessionServers?: LbServer[];
    tenanthubServers?: LbServer[];
  },
): Promise<StartedBalancers> {
  if (!o.chatLb && !o.dbmanLb) return { loadBalancers: [] };
  const dbmanHost = s.dbmanHost ?? '127.0.0.1';
  const plan: HaproxyPlan = {
    stats: `127.0.0.1:${s.ports.stats}`,
    ...(o.chatLb ? { chat: { binds: [`127.0.0.1:${s.ports.chat}`], servers: s.chatServers } } : {}),
    // in docker mode the containers reach the dbman LB on the network's gateway; the suite on the host uses loopback
    ...(o.dbmanLb ? { dbman: { binds: [...new Set(['127.0.0.1', dbmanHost])].map((h) => `${h}:${s.ports.dbman}`), servers: s.dbmanServers } } : {}),
    ...(o.chatLb && s.sessionServers?.length ? { session: { binds: [`127.0.0.1:${s.ports.session}`], servers: s.sessionServers } } : {}),
    ...(o.chatLb && s.tenanthubServers?.length ? { tenanthub: { binds: [`127.0.0.1:${s.ports.tenanthub}`], servers: s.tenanthubServers } } : {}),
  };
  const h = await startHaproxy(ctx.stateDir, plan, ctx.log, { ...process.env, ...ctx.mark('haproxy') }, ctx.procs);
  const chat: LoadBalancer | undefined = o.chatLb ? { name: 'chat-lb', url: `http://127.0.0.1:${s.ports.chat}`, fronts: 'chat', statsUrl: h.statsUrl, faults: {} } : undefined;
  const dbman: LoadBalancer | undefined = o.dbmanLb ? { name: 'dbman-lb', url: dbmanLbUrl(s.ports.dbman), fronts: 'dbman', statsUrl: h.statsUrl, faults: {} } : undefined;
  const app = (name: 'session' | 'tenanthub'): LoadBalancer | undefined =>
    plan[name] ? { name: `${name}-lb`, url: `http://127.0.0.1:${s.ports[name]}`, fronts: name, statsUrl: h.statsUrl, faults: {} } : undefined;
  const session = app('session');
  const tenanthub = app('tenanthub');
  const all = [chat, dbman, session, tenanthub].filter((b): b is LoadBalancer => b !== undefined);
  ctx.log(`haproxy (pid ${h.proc.pid}): ${all.map((b) => `${b.fronts} LB ${b.url}`).join(', ')}; stats ${h.statsUrl}`);
  return {
    loadBalancers: all,
    ...(chat ? { chat } : {}),
    ...(dbman ? { dbman } : {}),
    ...(session ? { session } : {}),
    ...(tenanthub ? { tenanthub } : {}),
    haproxy: { configPath: h.configPath, statsUrl: h.statsUrl, pid: h.proc.pid },
  };
}

/** The dbman LB's URL, as the app services get it in DBMAN_ENDPOINTS. */
export function dbmanLbUrl(port: number, host = '127.0.0.1'): string {
  return `http://${host}:${port}`;
}
