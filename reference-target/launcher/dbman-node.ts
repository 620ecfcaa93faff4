/** A dbman node of a reference stack: its database URL (through its PostgreSQL link), its name, ready on /health/ready. */
import type { ServiceRunner, StartedService } from './service.js';

/** The port a dbman node listens on inside its container (dbman's own default). */
export const DBMAN_CONTAINER_PORT = 8082;

export interface DbmanNodeOptions {
  /** 0-based: the node is named dbman-<index + 1>. */
  index: number;
  hostPort: number;
  /** PostgreSQL as this node reaches it (its `dbman-N-db` link when proxies are on). */
  databaseUrl: string;
}

export function startDbmanNode<S extends StartedService>(run: ServiceRunner<S>, o: DbmanNodeOptions): Promise<S> {
  const name = `dbman-${o.index + 1}`;
  return run({
    name,
    bundle: 'dbman',
    port: DBMAN_CONTAINER_PORT,
    hostPort: o.hostPort,
    env: { DATABASE_URL: o.databaseUrl, DBMAN_NODE_NAME: name },
    health: '/health/ready',
  });
}
