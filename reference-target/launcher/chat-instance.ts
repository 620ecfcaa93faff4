/** A chat instance of a reference stack: its dbman endpoints, the stack's JWT secret and Redis, fan-out through Redis. */
import type { ServiceRunner, StartedService } from './service.js';

/** The port a chat instance listens on inside its container (chat's own default). */
export const CHAT_CONTAINER_PORT = 8080;

export interface ChatInstanceOptions {
  /** 0-based: the instance is named chat-<index + 1>. */
  index: number;
  hostPort: number;
  dbmanEndpoints: string[];
  jwtSecret: string;
  /** A redis:// URL, or the sentinels (host:port,...) and master name of the `--redis-sentinel` topology. */
  redis: string | { sentinels: string; masterName: string };
}

function redisEnv(r: ChatInstanceOptions['redis']): Record<string, string> {
  return typeof r === 'string' ? { REDIS_URL: r } : { REDIS_SENTINELS: r.sentinels, REDIS_SENTINEL_MASTER: r.masterName };
}

export function startChatInstance<S extends StartedService>(run: ServiceRunner<S>, o: ChatInstanceOptions): Promise<S> {
  const name = `chat-${o.index + 1}`;
  return run({
    name,
    bundle: 'chat',
    port: CHAT_CONTAINER_PORT,
    hostPort: o.hostPort,
    env: { DBMAN_ENDPOINTS: o.dbmanEndpoints.join(','), JWT_SECRET: o.jwtSecret, ...redisEnv(o.redis), CHAT_INSTANCE_NAME: name, CHAT_USE_MQ: 'false' },
    health: '/health',
  });
}
