/** orghub of a reference stack (login, org units, users): its dbman endpoints and the stack's JWT secret. */
import type { ServiceRunner, StartedService } from './service.js';

export interface OrghubOptions {
  hostPort: number;
  dbmanEndpoints: string[];
  jwtSecret: string;
}

export function startOrghub<S extends StartedService>(run: ServiceRunner<S>, o: OrghubOptions): Promise<S> {
  return run({
    name: 'orghub',
    bundle: 'orghub',
    port: o.hostPort,
    hostPort: o.hostPort,
    env: { DBMAN_ENDPOINTS: o.dbmanEndpoints.join(','), JWT_SECRET: o.jwtSecret },
    health: '/health',
  });
}
