/** A tenanthub instance of a reference stack (the tenants list): its dbman endpoints and the stack's JWT secret. */
import type { AppInstanceOptions } from './session.js';
import type { ServiceRunner, StartedService } from './service.js';

/** The port tenanthub listens on inside a container (tenanthub's default port). */
export const TENANTHUB_CONTAINER_PORT = 8092;

export function startTenanthub<S extends StartedService>(run: ServiceRunner<S>, o: AppInstanceOptions): Promise<S> {
  return run({
    name: o.name,
    bundle: 'tenanthub',
    port: TENANTHUB_CONTAINER_PORT,
    hostPort: o.hostPort,
    env: { DBMAN_ENDPOINTS: o.dbmanEndpoints.join(','), JWT_SECRET: o.jwtSecret },
    health: '/health',
  });
}
