/** A session instance of a reference stack (status, device login, notes): its dbman endpoints and the stack's JWT secret. */
import type { ServiceRunner, StartedService } from './service.js';

/** The port session listens on inside a container (session's default port). */
export const SESSION_CONTAINER_PORT = 8090;

export interface AppInstanceOptions {
  /** Component name: `session` for one instance, `session-1`, `session-2` behind a balancer. */
  name: string;
  hostPort: number;
  dbmanEndpoints: string[];
  jwtSecret: string;
}

export function startSession<S extends StartedService>(run: ServiceRunner<S>, o: AppInstanceOptions): Promise<S> {
  return run({
    name: o.name,
    bundle: 'session',
    port: SESSION_CONTAINER_PORT,
    hostPort: o.hostPort,
    env: { DBMAN_ENDPOINTS: o.dbmanEndpoints.join(','), JWT_SECRET: o.jwtSecret },
    health: '/health',
  });
}
