/**
 * chat's REST API (contract: chat endpoints): rooms, members, messages, unread counts, read marks, /health.
 * A posted message is stored (`message-store.ts`), then fanned out to the room's sockets (`fanout.ts`).
 */
import type { FastifyInstance } from 'fastify';
import { DbmanUnavailableError, type DbmanResponse } from '../dbman-client/client.js';
import { HttpError, bodyObject, optString, optStringArray, reqString } from '../shared/http.js';
import type { Principal } from '../shared/jwt.js';
import { authenticate, expectStatus } from '../shared/service.js';
import type { Chat } from './context.js';
import { roomChannel } from './hub.js';
import { metaJson, type StoredMessage } from './message.js';

const query = (req: { query: unknown }) => (req.query ?? {}) as Record<string, string | undefined>;
const roomIdOf = (req: { params: unknown }) => (req.params as { id: string }).id;

export function registerRestRoutes(app: FastifyInstance, chat: Chat): void {
  const { jwt, ask } = chat;
  const requireMember = async (p: Principal, roomId: string): Promise<void> => {
    if (!(await chat.isMember(p, roomId))) throw new HttpError(403, 'room access denied');
  };

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
      res = await chat.storeMessage({ tenant_id: p.tenantId, room_id: roomId, sender_id: p.userId, body: b['body'], meta_json: meta });
    } catch (err) {
      if (!(err instanceof DbmanUnavailableError)) throw err;
      process.stderr.write(`${err.message}\n`);
      throw new HttpError(503, 'failed to persist message');
    }
    expectStatus(res, 201);
    const msg = res.body;
    if (!chat.fanout.dropsNext(roomId)) await chat.fanout.publish(roomChannel(p.tenantId, roomId), msg);
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
}
