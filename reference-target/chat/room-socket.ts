/**
 * chat's room WebSocket (`/ws?room_id=…`, token in `access_token` or `Authorization: Bearer`): the upgrade check
 * (401 / 400 / 403 answered as JSON before the handshake), then per socket: join the room's Redis channel, handle
 * frames one at a time in arrival order (`message`: dedup by `client_msg_id`, store, fan out; `webrtc_*`: relay
 * as `signal_*`), leave on close.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { DbmanUnavailableError } from '../dbman-client/client.js';
import { HttpError } from '../shared/http.js';
import { bearerToken, type Principal } from '../shared/jwt.js';
import type { Chat } from './context.js';
import { roomChannel, type Member } from './hub.js';
import { metaJson, type StoredMessage } from './message.js';

function rejectUpgrade(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** One open room socket: who, which room, and how to answer it with an error frame. */
interface RoomConnection {
  ws: WebSocket;
  p: Principal;
  roomId: string;
  channel: string;
  sendError(error: string): void;
}

/** Serves the room WebSocket on `app`'s HTTP server; returns the socket server (to close its clients on stop). */
export function attachRoomSocket(app: FastifyInstance, chat: Chat): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024, perMessageDeflate: false });
  app.get('/ws', async (_req, reply) => reply.code(400).send({ error: 'websocket upgrade required' }));
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    onUpgrade(chat, wss, req, socket, head).catch(() => rejectUpgrade(socket, 500, 'internal error'));
  });
  return wss;
}

async function onUpgrade(chat: Chat, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'not found');
  const token = url.searchParams.get('access_token') || bearerToken(req.headers.authorization);
  if (!token) return rejectUpgrade(socket, 401, 'bearer token is required');
  const p = await chat.jwt.verify(token);
  if (!p) return rejectUpgrade(socket, 401, 'invalid token');
  const roomId = url.searchParams.get('room_id');
  if (!roomId) return rejectUpgrade(socket, 400, 'room_id is required');
  let member: boolean;
  try {
    member = await chat.isMember(p, roomId);
  } catch (err) {
    return rejectUpgrade(socket, err instanceof HttpError ? err.status : 500, err instanceof HttpError ? err.message : 'internal error');
  }
  if (!member) return rejectUpgrade(socket, 403, 'room access denied');
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(chat, ws, p, roomId));
}

function onConnection(chat: Chat, ws: WebSocket, p: Principal, roomId: string): void {
  const channel = roomChannel(p.tenantId, roomId);
  const m: Member = { ws, userId: p.userId };
  const joined = chat.hub.join(channel, m).catch((err: Error) => process.stderr.write(`subscribe ${channel}: ${err.message}\n`));
  const conn: RoomConnection = {
    ws,
    p,
    roomId,
    channel,
    sendError: (error) => {
      if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'error', error }));
    },
  };
  let chain: Promise<void> = joined.then(() => undefined);
  ws.on('message', (data, isBinary) => {
    const raw = isBinary ? '' : data.toString();
    chain = chain.then(() => handleFrame(chat, conn, raw)).catch((err: Error) => {
      process.stderr.write(`ws frame: ${err.message}\n`);
    });
  });
  ws.on('close', () => chat.hub.leave(channel, m));
  ws.on('error', () => chat.hub.leave(channel, m));
}

async function handleFrame(chat: Chat, conn: RoomConnection, raw: string): Promise<void> {
  const { ws, p, roomId, channel, sendError } = conn;
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
      return handleMessage(chat, conn, payload);
    case 'webrtc_offer':
    case 'webrtc_answer':
    case 'webrtc_ice': {
      const targetId = typeof payload['target_id'] === 'string' ? payload['target_id'] : '';
      const out = JSON.stringify({ type: `signal_${frame.type}`, room_id: roomId, user_id: p.userId, target_id: targetId, payload });
      await chat.hub.publish(channel, out).catch(() => sendError('signal relay failed'));
      return;
    }
    default:
      return sendError('unsupported frame type');
  }
}

/**
 * A `message` frame: a repeated `client_msg_id` (Redis SET NX, CHAT_DEDUP_TTL_S) is answered `duplicate
 * client_msg_id`; a failed store frees the key again and is answered `failed to persist message`.
 */
async function handleMessage(chat: Chat, conn: RoomConnection, payload: Record<string, unknown>): Promise<void> {
  const { ws, p, roomId, channel, sendError } = conn;
  const { env, hub } = chat;
  const body = payload['body'];
  if (typeof body !== 'string' || body.trim() === '') return sendError('body required');
  const clientMsgId = typeof payload['client_msg_id'] === 'string' && payload['client_msg_id'] !== '' ? payload['client_msg_id'] : undefined;
  const arr = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  const meta = metaJson(typeof payload['file_id'] === 'string' ? payload['file_id'] : undefined, arr(payload['file_ids']), arr(payload['emojis']));
  const key = clientMsgId && !chat.ignoreClientMsgId ? `chat:dedup:${p.tenantId}:${roomId}:${p.userId}:${clientMsgId}` : undefined;
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
    const res = await chat.storeMessage({
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
  await chat.fanout.publishFromSocket(channel, roomId, stored, ws);
}
