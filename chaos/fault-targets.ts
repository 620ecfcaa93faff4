/**
 * The parts of a target file a fault can be aimed at, by name: the dbman nodes, the chat instances, orghub, the
 * session and tenanthub instances, Redis (with Sentinel also its replicas and sentinels), PostgreSQL and the load
 * balancers. The drill, its spec check and `npm run chaos -- inject` all look names up here; which
 * faults reach a part is the drivers' business (a pid, a container, a Toxiproxy proxy in front of it, its
 * database link).
 */
import type { Component, TargetFile } from '../runner/target-file.js';

/** Parts a drill adds of its own (the slow-consumer path `ws-slow`), for the drill's lifetime. */
const drillOwn = new Map<string, Component>();
export function addDrillTarget(c: Component): () => void {
  drillOwn.set(c.name, c);
  return () => void drillOwn.delete(c.name);
}

export function faultTargets(t: TargetFile): Component[] {
  return [
    ...drillOwn.values(),
    ...t.dbmanNodes,
    ...t.chatInstances,
    ...(t.orghub ? [t.orghub] : []),
    ...t.sessionInstances,
    ...t.tenanthubInstances,
    ...(t.redis ? [t.redis] : []),
    ...(t.redisSentinel ? [...t.redisSentinel.replicas, ...t.redisSentinel.sentinels] : []),
    ...(t.postgres ? [t.postgres] : []),
    ...t.loadBalancers,
  ];
}

/** The part named `name`, or undefined. */
export function findFaultTarget(t: TargetFile, name: string): Component | undefined {
  return faultTargets(t).find((c) => c.name === name);
}

/** Whether `name` is one of the target's chat instances (a fault on it closes WebSockets: the WS figures apply). */
export function isChatInstance(t: TargetFile, name: string): boolean {
  return t.chatInstances.some((c) => c.name === name);
}

/** Whether `name` is the target's Redis or PostgreSQL (the data tier: their own checks apply after they return). */
export function dataTierOf(t: TargetFile, name: string): 'redis' | 'postgres' | undefined {
  if (t.redis?.name === name) return 'redis';
  if (t.postgres?.name === name) return 'postgres';
  return undefined;
}
