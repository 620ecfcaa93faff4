/**
 * chat: REST rooms, members and messages (`rest.ts`), and the room WebSocket (`room-socket.ts`), with Redis
 * pub/sub fan-out (`hub.ts`, `fanout.ts`; the CHAT_USE_MQ=false behaviour: REST messages are published to the
 * room channel too). What they share is built once from the environment (`context.ts`).
 *
 * Env: PORT (8080), HOST (127.0.0.1), JWT_SECRET (required), REDIS_URL (required unless REDIS_SENTINELS host:port,...
 * with REDIS_SENTINEL_MASTER, default mymaster: through Redis Sentinel), CHAT_USE_MQ (only "false"),
 * CHAT_INSTANCE_NAME, CHAT_DEDUP_TTL_S, the dbman client's variables, TARGET_FLAWS (`flaws.ts`).
 */
import { runMain } from '../shared/env.js';
import { createServer, stopOnSignals } from '../shared/http.js';
import { chatFromEnv } from './context.js';
import { registerRestRoutes } from './rest.js';
import { attachRoomSocket } from './room-socket.js';

async function main(): Promise<void> {
  const chat = chatFromEnv(process.env);
  const { env, dbman, hub } = chat;
  const app = createServer();
  registerRestRoutes(app, chat);
  const wss = attachRoomSocket(app, chat);

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`${env.CHAT_INSTANCE_NAME} listening on http://${env.HOST}:${env.PORT} dbman=${dbman.effective.endpoints.join(',')}\n`);

  stopOnSignals(async () => {
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    wss.close();
    await app.close();
    await hub.close();
    dbman.close();
  }, { app });
}

runMain('chat', main);
