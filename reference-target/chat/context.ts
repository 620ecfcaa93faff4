/**
 * What chat's REST routes and its room WebSocket share: the parsed env, the JWT verifier, the dbman client and
 * the calls made through it, the message store and the Redis fan-out. Built once from the environment; a bad
 * value is a ConfigError or a one-line Error (exit 2) before anything listens.
 */
import { z } from 'zod';
import type { DbmanClient } from '../dbman-client/client.js';
import { parseEnv, portVar } from '../shared/env.js';
import type { Jwt, Principal } from '../shared/jwt.js';
import { callDbman, dbmanFromEnv, expectStatus, jwtFromEnv } from '../shared/service.js';
import { MessageFanout } from './fanout.js';
import { chatFlawsFromEnv } from './flaws.js';
import { RoomHub } from './hub.js';
import { messageStore, type StoreMessage } from './message-store.js';

const Env = z.object({
  PORT: portVar(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  /** host:port,host:port: connect through Redis Sentinel (the `--redis-sentinel` topology) instead of REDIS_URL. */
  REDIS_SENTINELS: z
    .string()
    .regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, 'must be host:port,host:port')
    .optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).default('mymaster'),
  CHAT_USE_MQ: z.enum(['false'], 'only "false" is supported by the reference target (fan-out through Redis)').default('false'),
  CHAT_INSTANCE_NAME: z.string().default('chat'),
  CHAT_DEDUP_TTL_S: z.preprocess((v) => (v === undefined || v === '' ? 86400 : Number(v)), z.number().int().min(1).max(30 * 86400)),
});
export type ChatEnv = z.infer<typeof Env>;

export interface Chat {
  env: ChatEnv;
  jwt: Jwt;
  dbman: DbmanClient;
  hub: RoomHub;
  storeMessage: StoreMessage;
  fanout: MessageFanout;
  /** The ignore-client-msg-id flaw: repeated client_msg_ids are stored again. */
  ignoreClientMsgId: boolean;
  /** Calls dbman and returns the body; another status than `ok` becomes that HTTP error (503 when no node answered). */
  ask<T = unknown>(op: string, body: unknown, ok?: number, unavailable?: string): Promise<T>;
  isMember(p: Principal, roomId: string): Promise<boolean>;
}

export function chatFromEnv(processEnv: NodeJS.ProcessEnv): Chat {
  const env = parseEnv(Env, processEnv);
  const jwt = jwtFromEnv(processEnv);
  const dbman = dbmanFromEnv(processEnv, 'chat');
  if (!env.REDIS_URL && !env.REDIS_SENTINELS) throw new Error('REDIS_URL: required (a redis:// URL), or REDIS_SENTINELS (host:port,host:port)');
  const hub = new RoomHub(env.REDIS_SENTINELS ? { sentinels: env.REDIS_SENTINELS, masterName: env.REDIS_SENTINEL_MASTER } : env.REDIS_URL!);
  const flaws = chatFlawsFromEnv(processEnv);
  const ask = async <T = unknown>(op: string, body: unknown, ok = 200, unavailable?: string): Promise<T> => {
    const res = await callDbman<T>(dbman, op, body, unavailable);
    expectStatus(res, ok);
    return res.body;
  };
  return {
    env,
    jwt,
    dbman,
    hub,
    storeMessage: messageStore(dbman, flaws.loseEvery),
    fanout: new MessageFanout(hub, env.CHAT_INSTANCE_NAME, flaws),
    ignoreClientMsgId: flaws.ignoreClientMsgId === true,
    ask,
    isMember: async (p, roomId) => {
      const r = await ask<{ is_member: boolean }>('rooms/members/check', { tenant_id: p.tenantId, room_id: roomId, user_id: p.userId });
      return r.is_member === true;
    },
  };
}
