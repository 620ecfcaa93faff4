/**
 * chat: REST rooms, members and messages, and the room WebSocket, with Redis pub/sub fan-out
 * (the CHAT_USE_MQ=false behaviour: REST messages are published to the room channel too).
 *
 * Env: PORT (8080), HOST (127.0.0.1), JWT_SECRET (required), REDIS_URL (required), CHAT_USE_MQ (only "false"),
 * CHAT_INSTANCE_NAME, the dbman client's variables, TARGET_FLAWS.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { parseEnv, portVar, runMain } from '../shared/env.js';
import { HttpError, bodyObject, createServer, optString, optStringArray, reqString, stopOnSignals } from '../shared/http.js';
import { bearerToken, type Principal } from '../shared/jwt.js';
import { authenticate, callDbman, dbmanFromEnv, expectStatus, jwtFromEnv } from '../shared/service.js';
import { RoomHub, roomChannel, type Member } from './hub.js';
import { DbmanUnavailableError, type DbmanResponse } from '../dbman-client/client.js';
import { DEFAULT_DROP_FANOUT_EVERY, DEFAULT_LOSE_EVERY, flawsForService, parseEvery, parseFlaws } from '../flaws.js';
import { randomUUID } from 'node:crypto';

const Env = z.object({
  PORT: portVar(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  CHAT_USE_MQ: z.enum(['false'], 'only "false" is supported by the reference target (fan-out through Redis)').default('false'),
  CHAT_INSTANCE_NAME: z.string().default('chat'),
  CHAT_DEDUP_TTL_S: z.preprocess((v) => (v === undefined || v === '' ? 86400 : Number(v)), z.number().int().min(1).max(30 * 86400)),
});

interface StoredMessage {
  tenant_id: string;
  id: string;
  room_id: string;
  sender_id: string;
  body: string;
  meta_json: Record<string, unknown>;
  created_at: string;
}

function fanoutFrame(msg: StoredMessage): string {
  return JSON.stringify({ type: 'message', room_id: msg.room_id, user_id: msg.sender_id, target_id: msg.room_id, payload: msg });
}

function metaJson(fileId: string | undefined, fileIds: string[] | undefined, emojis: string[] | undefined): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  if (fileId !== undefined && fileId !== '') meta['file_id'] = fileId;
  if (fileIds !== undefined && fileIds.length > 0) meta['file_ids'] = fileIds;
  if (emojis !== undefined && emojis.length > 0) meta['emojis'] = emojis;
  return meta;
}

function rejectUpgrade(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function main(): Promise<void> {
  const env = parseEnv(Env, process.env);
  const jwt = jwtFromEnv(process.env);
  const dbman = dbmanFromEnv(process.env, 'chat');
  const hub = new RoomHub(process.env['REDIS_URL']!);
  const app = createServer();

  // Flaws lose-messages and drop-fanout: deterministic every Nth message write of this instance.
  const flaws = flawsForService(parseFlaws(process.env['TARGET_FLAWS']), 'chat');
  const flawCfg: { lose?: number; dropFanout?: number } = {
    ...(flaws.includes('lose-messages') ? { lose: parseEvery('TARGET_FLAW_LOSE_EVERY', process.env['TARGET_FLAW_LOSE_EVERY'], DEFAULT_LOSE_EVERY) } : {}),
    ...(flaws.includes('drop-fanout')
      ? { dropFanout: parseEvery('TARGET_FLAW_DROP_FANOUT_EVERY', process.env['TARGET_FLAW_DROP_FANOUT_EVERY'], DEFAULT_DROP_FANOUT_EVERY) }
      : {}),
  };
  let writes = 0;
  const fanouts = new Map<string, number>();
  /** Stores a message, or (lose-messages, every Nth write) makes up the stored message without storing it. */
  const storeMessage = async (m: Omit<StoredMessage, 'id' | 'created_at'>): Promise<DbmanResponse<StoredMessage>> => {
    writes += 1;
    if (flawCfg.lose !== undefined && writes % flawCfg.lose === 0) {
      return { status: 201, body: { ...m, id: randomUUID(), created_at: new Date().toISOString() }, endpoint: 'none (lose-messages)' };
    }
    // The id is chosen here, once per message, so the dbman client's retry on the next node stores it once.
    return dbman.call<StoredMessage>('messages', { ...m, id: randomUUID() });
  };
  /**
   * drop-fanout: every Nth stored message of a room (counted per room, so a periodic load mix cannot dodge it)
   * goes to its sender's socket only (WS), or to no socket (REST).
   */
  const dropFanout = (roomId: string): boolean => {
    if (flawCfg.dropFanout === undefined) return false;
    const n = (fanouts.get(roomId) ?? 0) + 1;
    fanouts.set(roomId, n);
    return n % flawCfg.dropFanout === 0;
  };

  const isMember = async (p: Principal, roomId: string): Promise<boolean> => {
    const r = await ask<{ is_member: boolean }>('rooms/members/check', { tenant_id: p.tenantId, room_id: roomId, user_id: p.userId });
    return r.is_member === true;
  };
  const requireMember = async (p: Principal, roomId: string): Promise<void> => {
    if (!(await isMember(p, roomId))) throw new HttpError(403, 'room access denied');
  };
  const query = (req: { query: unknown }) => (req.query ?? {}) as Record<string, string | undefined>;
  /** Calls dbman and returns the body; another status than `ok` becomes that HTTP error. */
  const ask = async <T = unknown>(op: string, body: unknown, ok = 200, unavailable?: string): Promise<T> => {
    const res = await callDbman<T>(dbman, op, body, unavailable);
    expectStatus(res, ok);
    return res.body;
  };
  const roomIdOf = (req: { params: unknown }) => (req.params as { id: string }).id;

  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/api/v1/rooms', async (req, reply) => {
    const p = await authenticate(jwt, req);
    const b = bodyObject(req.body);
    const name = reqString(b, 'name');
    const roomType = optString(b, 'room_type') ?? 'group';
    if (roomType !== 'group' && roomType !== 'direct') throw new HttpError(400, 'room_type must be group or direct');
    const memberIds = optStringArray(b, 'member_ids') ?? [];
    const room = await ask<{ id: string }>(
      'rooms',
      { tenant_id: p.tenantId, name, room_type: roomType, created_by: p.userId, member_ids: memberIds },
      201,
    );
    return reply.code(201).send({ id: room.id });
  });

  app.get('/api/v1/rooms', async (req) => {
    const p = await authenticate(jwt, req);
    const q = query(req);
    return ask('rooms/list', { tenant_id: p.tenantId, user_id: p.userId, limit: q['limit'], cursor: q['cursor'] });
  });

  app.post('/api/v1/rooms/:id/members', async (req) => {
    const p = await authenticate(jwt, req);
    const roomId = roomIdOf(req);
    const b = bodyObject(req.body);
    const userId = reqString(b, 'user_id');
    await requireMember(p, roomId);
    await ask('rooms/members', { tenant_id: p.tenantId, room_id: roomId, user_id: userId });
    return { ok: true };
  });

  app.post('/api/v1/rooms/:id/messages', async (req, reply) => {
    const p = await authenticate(jwt, req);
    const roomId = roomIdOf(req);
    const b = bodyObject(req.body);
    if (typeof b['body'] !== 'string' || b['body'].trim() === '') throw new HttpError(400, 'body required');
    const meta = metaJson(optString(b, 'file_id'), optStringArray(b, 'file_ids'), optStringArray(b, 'emojis'));
    await requireMember(p, roomId);
    let res: DbmanResponse<StoredMessage>;
    try {
      res = await storeMessage({ tenant_id: p.tenantId, room_id: roomId, sender_id: p.userId, body: b['body'], meta_json: meta });
    } catch (err) {
      if (!(err instanceof DbmanUnavailableError)) throw err;
      process.stderr.write(`${err.message}\n`);
      throw new HttpError(503, 'failed to persist message');
    }
    expectStatus(res, 201);
    const msg = res.body;
    if (!dropFanout(roomId)) await hub.publish(roomChannel(p.tenantId, roomId), fanoutFrame(msg)).catch((err: Error) => {
      process.stderr.write(`${env.CHAT_INSTANCE_NAME}: publish: ${err.message}\n`);
    });
    return reply.code(201).send(msg);
  });

  app.get('/api/v1/rooms/:id/messages', async (req) => {
    const p = await authenticate(jwt, req);
    const roomId = roomIdOf(req);
    const q = query(req);
    await requireMember(p, roomId);
    return ask('messages/list', { tenant_id: p.tenantId, room_id: roomId, limit: q['limit'], cursor: q['cursor'] });
  });

  app.get('/api/v1/rooms/:id/unread-count', async (req) => {
    const p = await authenticate(jwt, req);
    const roomId = roomIdOf(req);
    await requireMember(p, roomId);
    return ask('messages/unread-count', { tenant_id: p.tenantId, room_id: roomId, user_id: p.userId });
  });

  app.post('/api/v1/rooms/:id/read', async (req) => {
    const p = await authenticate(jwt, req);
    const roomId = roomIdOf(req);
    const b = bodyObject(req.body);
    const messageId = reqString(b, 'message_id');
    await requireMember(p, roomId);
    await ask('messages/read', { tenant_id: p.tenantId, room_id: roomId, user_id: p.userId, message_id: messageId });
    return { ok: true };
  });

  app.get('/ws', async (_req, reply) => reply.code(400).send({ error: 'websocket upgrade required' }));

  // ---- the room WebSocket ----
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024, perMessageDeflate: false });

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'not found');
    const token = url.searchParams.get('access_token') || bearerToken(req.headers.authorization);
    if (!token) return rejectUpgrade(socket, 401, 'bearer token is required');
    const p = await jwt.verify(token);
    if (!p) return rejectUpgrade(socket, 401, 'invalid token');
    const roomId = url.searchParams.get('room_id');
    if (!roomId) return rejectUpgrade(socket, 400, 'room_id is required');
    let member: boolean;
    try {
      member = await isMember(p, roomId);
    } catch (err) {
      return rejectUpgrade(socket, err instanceof HttpError ? err.status : 500, err instanceof HttpError ? err.message : 'internal error');
    }
    if (!member) return rejectUpgrade(socket, 403, 'room access denied');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, p, roomId));
  };

  const onConnection = (ws: WebSocket, p: Principal, roomId: string): void => {
    const channel = roomChannel(p.tenantId, roomId);
    const m: Member = { ws, userId: p.userId };
    const joined = hub.join(channel, m).catch((err: Error) => process.stderr.write(`subscribe ${channel}: ${err.message}\n`));
    const sendError = (error: string) => {
      if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'error', error }));
    };
    let chain: Promise<void> = joined.then(() => undefined);

    const handleMessage = async (payload: Record<string, unknown>): Promise<void> => {
      const body = payload['body'];
      if (typeof body !== 'string' || body.trim() === '') return sendError('body required');
      const clientMsgId = typeof payload['client_msg_id'] === 'string' && payload['client_msg_id'] !== '' ? payload['client_msg_id'] : undefined;
      const arr = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
      const meta = metaJson(typeof payload['file_id'] === 'string' ? payload['file_id'] : undefined, arr(payload['file_ids']), arr(payload['emojis']));
      const key = clientMsgId ? `chat:dedup:${p.tenantId}:${roomId}:${p.userId}:${clientMsgId}` : undefined;
      if (key) {
        let set: string | null;
        try {
          set = await hub.pub.set(key, '1', 'EX', env.CHAT_DEDUP_TTL_S, 'NX');
        } catch {
          return sendError('failed to persist message');
        }
        if (set === null) return sendError('duplicate client_msg_id');
      }
      let stored: StoredMessage;
      try {
        const res = await storeMessage({
          tenant_id: p.tenantId,
          room_id: roomId,
          sender_id: p.userId,
          body,
          meta_json: meta,
        });
        if (res.status !== 201) throw new Error(`dbman messages: HTTP ${res.status}`);
        stored = res.body;
      } catch (err) {
        if (!(err instanceof DbmanUnavailableError)) process.stderr.write(`${env.CHAT_INSTANCE_NAME}: ${(err as Error).message}\n`);
        if (key) await hub.pub.del(key).catch(() => undefined);
        return sendError('failed to persist message');
      }
      if (dropFanout(roomId)) {
        if (ws.readyState === 1) ws.send(fanoutFrame(stored));
        return;
      }
      await hub.publish(channel, fanoutFrame(stored)).catch((err: Error) => {
        process.stderr.write(`${env.CHAT_INSTANCE_NAME}: publish: ${err.message}\n`);
      });
    };

    const handleFrame = async (raw: string): Promise<void> => {
      if (p.exp > 0 && p.exp * 1000 < Date.now()) {
        sendError('unauthorized');
        ws.close(1008, 'unauthorized');
        return;
      }
      let frame: { type?: unknown; payload?: unknown };
      try {
        frame = JSON.parse(raw) as typeof frame;
      } catch {
        return sendError('invalid frame');
      }
      const payload = frame.payload !== null && typeof frame.payload === 'object' ? (frame.payload as Record<string, unknown>) : {};
      switch (frame.type) {
        case 'message':
          return handleMessage(payload);
        case 'webrtc_offer':
        case 'webrtc_answer':
        case 'webrtc_ice': {
          const targetId = typeof payload['target_id'] === 'string' ? payload['target_id'] : '';
          const out = JSON.stringify({ type: `signal_${frame.type}`, room_id: roomId, user_id: p.userId, target_id: targetId, payload });
          await hub.publish(channel, out).catch(() => sendError('signal relay failed'));
          return;
        }
        default:
          return sendError('unsupported frame type');
      }
    };

    ws.on('message', (data, isBinary) => {
      const raw = isBinary ? '' : data.toString();
      chain = chain.then(() => handleFrame(raw)).catch((err: Error) => {
        process.stderr.write(`ws frame: ${err.message}\n`);
      });
    });
    ws.on('close', () => hub.leave(channel, m));
    ws.on('error', () => hub.leave(channel, m));
  };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    onUpgrade(req, socket, head).catch(() => rejectUpgrade(socket, 500, 'internal error'));
  });

  await app.listen({ port: env.PORT, host: env.HOST });
  process.stdout.write(`${env.CHAT_INSTANCE_NAME} listening on http://${env.HOST}:${env.PORT} dbman=${dbman.effective.endpoints.join(',')}\n`);

  stopOnSignals(async () => {
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    wss.close();
    await app.close();
    await hub.close();
    dbman.close();
  });
}

runMain('chat', main);
