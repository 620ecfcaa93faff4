/**
 * The target file a reference stack writes (runner/target-file.ts), shared by the local and the docker stack:
 * the URLs users and scenarios need, each component's fault access (pid, container, proxies), and the
 * `reference` block that `stack down` and `stack status` work from alone.
 */
import { TargetFile, type Component, type FaultAccess } from '../../runner/target-file.js';
import { SEED } from '../db/migrate.js';
import type { Flaw } from '../flaws.js';
import type { DockerResources } from './docker-engine.js';
import type { StartedInfra } from './infra.js';
import type { LinkAddress, StartedBalancers, TopologyOptions } from './links.js';
import { procStartTime, type ProcRecord } from './procs.js';
import type { StartedSentinels } from './sentinel.js';

/** Extra fields of the `reference` block (passthrough in the schema). */
export interface ReferenceExtra {
  /** Every process of the stack has TARGET_STACK_ID=<stackId> in its environment (also a copy restarted by a chaos driver). */
  stackId: string;
  processes: ProcRecord[];
  logsDir: string;
  jwtSecret: string;
  dbmanEndpoints: string[];
  serviceEnv: Record<string, string>;
  /** Docker mode: the stack's network, containers and image, removed by `stack down`. */
  docker?: DockerResources;
  /** With proxies: the stack's toxiproxy-server. */
  toxiproxy?: { apiUrl: string; pid: number };
  /** With a load balancer: the stack's haproxy. */
  haproxy?: { configPath: string; statsUrl: string; pid: number };
}

/** The target file's name: "reference (local)", "reference (docker, dbman-lb, chat LB, proxies, flaws: a,b)". */
export function referenceName(mode: 'local' | 'docker', flaws: string[], o: TopologyOptions): string {
  const parts = [mode, o.dbmanLb && 'dbman-lb', o.chatLb && 'chat LB', o.proxy && 'proxies', o.redisSentinel && 'redis sentinel', flaws.length && `flaws: ${flaws.join(',')}`];
  return `reference (${parts.filter(Boolean).join(', ')})`;
}

/**
 * The target file's `redis`: the redis-server's own URL (a process fault's restart waits until it accepts
 * connections there); faults by its process (stop, kill, pause, restart) and, with proxies, by the proxy in front
 * of it that the chat instances use (network faults).
 */
export function redisComponent(url: string, link: LinkAddress, pid: number): Component {
  return { name: 'redis', url, faults: { pid, ...(link.toxiproxy ? { toxiproxy: link.toxiproxy } : {}) } };
}

/** The target file's `postgres`: faults by its process (the postmaster; its backends are its process tree). */
export function postgresComponent(infra: StartedInfra): Component {
  // the host and port only: the fault target is reached by its process and a TCP probe, and no URL of a target
  // file carries credentials (the loopback rule refuses one); the launcher's own block keeps the full URL
  const u = new URL(infra.url);
  return { name: 'postgres', url: `${u.protocol}//${u.host}${u.pathname}`, faults: { pid: infra.proc.pid } };
}

/** The target file's `redisSentinel`: the master name, the replica and the sentinels, each a fault target by its pid. */
export function sentinelDescription(s: StartedSentinels): NonNullable<TargetFile['redisSentinel']> {
  const part = (p: { name: string; url: string; proc: { pid: number } }): Component => ({ name: p.name, url: p.url, faults: { pid: p.proc.pid } });
  return { masterName: s.masterName, replicas: [part(s.replica)], sentinels: s.sentinels.map(part) };
}

export interface StackDescription {
  mode: 'local' | 'docker';
  flaws: Flaw[];
  opts: TopologyOptions & { launcherPid?: number };
  stateDir: string;
  nodes: Array<{ name: string; url: string; faults: FaultAccess }>;
  chats: Array<{ name: string; url: string; faults: FaultAccess }>;
  orghub: { url: string; pid: number };
  /** session and tenanthub (`msa-services.ts: msaTargetFields`). */
  msa: { sessionUrl: string; tenanthubUrl: string; sessionInstances: Component[]; tenanthubInstances: Component[] };
  redis: Component;
  redisSentinel?: TargetFile['redisSentinel'];
  balancers: Pick<StartedBalancers, 'chat' | 'loadBalancers'>;
  postgresInfra: StartedInfra;
  redisInfra: StartedInfra;
  extra: ReferenceExtra;
}

/** The app services' effective dbman client settings (slow-failover forces the contract's defaults), for the target file. */
export function clientSettingsOf(serviceEnv: Record<string, string>, flaws: readonly string[]): { timeoutMs: number; failThreshold: number; cooldownMs: number } {
  const n = (k: string, d: number) => (serviceEnv[k] !== undefined && serviceEnv[k] !== '' ? Number(serviceEnv[k]) : d);
  if (flaws.includes('slow-failover')) return { timeoutMs: n('TARGET_FLAW_SLOW_TIMEOUT_MS', 5000), failThreshold: 3, cooldownMs: n('TARGET_FLAW_SLOW_COOLDOWN_MS', 10_000) };
  return { timeoutMs: n('DBMAN_HTTP_TIMEOUT_MS', 5000), failThreshold: n('DBMAN_FAIL_THRESHOLD', 3), cooldownMs: n('DBMAN_COOLDOWN_MS', 10_000) };
}

export function describeStack(d: StackDescription): TargetFile {
  const chatUrl = d.balancers.chat?.url ?? d.chats[0]!.url;
  return TargetFile.parse({
    version: 1,
    name: referenceName(d.mode, d.flaws, d.opts),
    chatUrl,
    authUrl: d.orghub.url,
    wsUrl: `${chatUrl.replace(/^http/, 'ws')}/ws`,
    tenantId: SEED.tenantId,
    login: { email: SEED.adminEmail, password: SEED.adminPassword },
    dbmanClient: clientSettingsOf(d.extra.serviceEnv, d.flaws),
    dbmanNodes: d.nodes,
    chatInstances: d.chats,
    orghub: { name: 'orghub', url: d.orghub.url, faults: { pid: d.orghub.pid } },
    ...d.msa,
    redis: d.redis,
    ...(d.redisSentinel ? { redisSentinel: d.redisSentinel } : {}),
    postgres: postgresComponent(d.postgresInfra),
    loadBalancers: d.balancers.loadBalancers,
    reference: {
      stateDir: d.stateDir,
      ...(d.opts.launcherPid ? { launcherPid: d.opts.launcherPid, launcherStartTime: procStartTime(d.opts.launcherPid) } : {}),
      flaws: d.flaws,
      topology: d.opts.dbmanLb ? 'dbman-lb' : 'client-side',
      postgres: { url: d.postgresInfra.url, pid: d.postgresInfra.proc.pid },
      redis: { url: d.redisInfra.url, pid: d.redisInfra.proc.pid },
      ...d.extra,
    },
  });
}
