/**
 * session and tenanthub in a reference stack (local and docker), each instance started through the stack's runner
 * from its bundle (session: status, device login, notes; tenanthub: the tenants list), with the app services' dbman endpoints and the
 * stack's JWT secret; each has its own dbman client. One instance each (`session`, `tenanthub`); with the chat
 * balancer (`chatLb`) two each (`session-1`, `session-2`, ...) behind HAProxy, as the chat instances are. The
 * target file gets `sessionUrl` / `tenanthubUrl` (the balancer's or the one instance's) and `sessionInstances` /
 * `tenanthubInstances` with their fault access (stop, kill, pause, restart).
 */
import type { Component, FaultAccess, LoadBalancer } from '../../runner/target-file.js';
import { hostPortOf } from '../../chaos/toxiproxy/server.js';
import type { LbServer } from './haproxy.js';
import type { ServiceRunner, StartedService } from './service.js';

export const MSA_APP_SERVICES = ['session', 'tenanthub'] as const;
export type MsaAppService = (typeof MSA_APP_SERVICES)[number];

/** The port each listens on inside a container (the service's default port). */
const CONTAINER_PORT: Record<MsaAppService, number> = { session: 8090, tenanthub: 8092 };

interface AppInstanceOptions {
  /** Component name: `session` for one instance, `session-1`, `session-2` behind a balancer. */
  name: string;
  hostPort: number;
  dbmanEndpoints: string[];
  jwtSecret: string;
}

/** One instance of session or tenanthub: its own dbman client on the app services' endpoints, the stack's JWT secret. */
function startAppInstance<S extends StartedService>(run: ServiceRunner<S>, service: MsaAppService, o: AppInstanceOptions): Promise<S> {
  return run({
    name: o.name,
    bundle: service,
    port: CONTAINER_PORT[service],
    hostPort: o.hostPort,
    env: { DBMAN_ENDPOINTS: o.dbmanEndpoints.join(','), JWT_SECRET: o.jwtSecret },
    health: '/health',
  });
}

/** How many instances of each: two behind the chat balancer, else one. */
export function msaInstanceCount(o: { chatLb?: boolean }): number {
  return o.chatLb ? 2 : 1;
}

/** `session` for one instance, `session-1`, `session-2` for two. */
export function msaInstanceNames(service: MsaAppService, n: number): string[] {
  return n === 1 ? [service] : Array.from({ length: n }, (_, i) => `${service}-${i + 1}`);
}

export type MsaApps<S> = Record<MsaAppService, S[]>;

/** Starts `count` instances of session and of tenanthub on `ports` (session's first), all at once. */
export async function startMsaServices<S extends StartedService>(
  run: ServiceRunner<S>,
  o: { ports: number[]; count: number; dbmanEndpoints: string[]; jwtSecret: string },
): Promise<MsaApps<S>> {
  const common = { dbmanEndpoints: o.dbmanEndpoints, jwtSecret: o.jwtSecret };
  const starts = [
    ...msaInstanceNames('session', o.count).map((name, i) => startAppInstance(run, 'session', { ...common, name, hostPort: o.ports[i]! })),
    ...msaInstanceNames('tenanthub', o.count).map((name, i) => startAppInstance(run, 'tenanthub', { ...common, name, hostPort: o.ports[o.count + i]! })),
  ];
  // every start settles before a failure is thrown, so the stack's cleanup never races a service still starting
  const settled = await Promise.allSettled(starts);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const apps = settled.map((r) => (r as PromiseFulfilledResult<S>).value);
  return { session: apps.slice(0, o.count), tenanthub: apps.slice(o.count) };
}

/** The balancer servers of one service's instances. */
export function lbServers(apps: StartedService[]): LbServer[] {
  return apps.map((a) => ({ name: a.name, address: hostPortOf(a.url) }));
}

/** The target file's fields for session and tenanthub; `faults` gives each instance's fault access. */
export function msaTargetFields<S extends StartedService>(
  apps: MsaApps<S>,
  lbs: Partial<Record<MsaAppService, LoadBalancer>>,
  faults: (a: S) => FaultAccess,
): { sessionUrl: string; tenanthubUrl: string; sessionInstances: Component[]; tenanthubInstances: Component[] } {
  const comps = (list: S[]): Component[] => list.map((a) => ({ name: a.name, url: a.url, faults: faults(a) }));
  return {
    sessionUrl: lbs.session?.url ?? apps.session[0]!.url,
    tenanthubUrl: lbs.tenanthub?.url ?? apps.tenanthub[0]!.url,
    sessionInstances: comps(apps.session),
    tenanthubInstances: comps(apps.tenanthub),
  };
}
