/**
 * session and tenanthub in a reference stack (local and docker): host processes like orghub, each with the app
 * services' dbman endpoints, the stack's JWT secret and its own dbman client. One instance each (`session`,
 * `tenanthub`); with the chat balancer (`chatLb`) two each (`session-1`, `session-2`, ...) behind HAProxy, as the
 * chat instances are. The target file gets `sessionUrl` / `tenanthubUrl` (the balancer's or the one instance's)
 * and `sessionInstances` / `tenanthubInstances` with `faults.pid` (fault targets: stop, kill, pause, restart).
 */
import type { Component, LoadBalancer } from '../../runner/target-file.js';
import type { LbServer } from './haproxy.js';
import type { ProcRecord } from './procs.js';

export const MSA_APP_SERVICES = ['session', 'tenanthub'] as const;
export type MsaAppService = (typeof MSA_APP_SERVICES)[number];

/** How many instances of each: two behind the chat balancer, else one. */
export function msaInstanceCount(o: { chatLb?: boolean }): number {
  return o.chatLb ? 2 : 1;
}

/** `session` for one instance, `session-1`, `session-2` for two. */
export function msaInstanceNames(service: MsaAppService, n: number): string[] {
  return n === 1 ? [service] : Array.from({ length: n }, (_, i) => `${service}-${i + 1}`);
}

export interface StartedApp {
  name: string;
  url: string;
  proc: ProcRecord;
  logFile: string;
  port: number;
}

/** Starts one service's instances with `start` (the stack's process starter) on the given ports. */
export function startMsaService(
  service: MsaAppService,
  ports: number[],
  start: (name: string, service: MsaAppService, port: number) => StartedApp,
): StartedApp[] {
  return msaInstanceNames(service, ports.length).map((name, i) => start(name, service, ports[i]!));
}

/** The balancer servers of one service's instances. */
export function lbServers(apps: StartedApp[]): LbServer[] {
  return apps.map((a) => ({ name: a.name, address: `127.0.0.1:${a.port}` }));
}

/** The target file's fields for session and tenanthub. */
export function msaTargetFields(
  apps: Record<MsaAppService, StartedApp[]>,
  lbs: Partial<Record<MsaAppService, LoadBalancer>>,
): { sessionUrl: string; tenanthubUrl: string; sessionInstances: Component[]; tenanthubInstances: Component[] } {
  const comps = (list: StartedApp[]): Component[] => list.map((a) => ({ name: a.name, url: a.url, faults: { pid: a.proc.pid } }));
  return {
    sessionUrl: lbs.session?.url ?? apps.session[0]!.url,
    tenanthubUrl: lbs.tenanthub?.url ?? apps.tenanthub[0]!.url,
    sessionInstances: comps(apps.session),
    tenanthubInstances: comps(apps.tenanthub),
  };
}
