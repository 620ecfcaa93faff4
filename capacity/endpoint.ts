/**
 * The bench's loopback endpoint: answers the contract's shapes at once, so the load generator, not the target,
 * is what a bench run measures. HTTP: login, org units, users, rooms (create, list, add member), messages (store,
 * list), /health. WebSocket `/ws?room_id=…` (token required): a `message` frame is "stored" and fanned out as
 * the contract's `{"type":"message",…,"payload":<stored message>}` frame to every socket of its room, the
 * sender included (its echo), or answered `{"type":"error","error":"body required"}`.
 *
 * Rooms on the socket side: sockets are put into fan-out rooms of `roomSize` in the order they connect, whatever
 * `room_id` they asked for, so every socket receives what a stage-3 socket receives (100,000 users in 2,000
 * rooms: 50 per room) however many rooms the scenario's setup made. Nothing is kept between requests (no
 * idempotency check: a bench never retries). Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface EndpointOptions {
  /** Sockets per fan-out room (stage 3: 50). */
  roomSize: number;
  /** 0 = a free port. */
  port?: number;
}

export interface RunningEndpoint {
  url: string;
  port: number;
  /** Requests answered so far per route (`GET /api/v1/rooms/:id/messages`, `WS upgrade`, `WS message`, …). */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

const TENANT = 'bench';
const USER = 'u-bench';
const JSON_HEADERS = { 'content-type': 'application/json' };

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(body);
}

function storedMessage(roomId: string, body: string, id: number): Record<string, unknown> {
  return { tenant_id: TENANT, id: `m${id}`, room_id: roomId, sender_id: USER, body, meta_json: null, created_at: new Date().toISOString() };
}

/** A fixed page of messages, newest first; with next_cursor on the first page only. */
function page(cursor: boolean): string {
  const items = Array.from({ length: 5 }, (_, i) => storedMessage('r0', `bench message ${5 - i}`, 5 - i));
  return JSON.stringify(cursor ? { items } : { items, next_cursor: 'c1' });
}

const FIRST_PAGE = page(false);
const LAST_PAGE = page(true);
/** The first page with the room's last stored message in front (a target that reads its own writes). */
const FIRST_PAGE_REST = FIRST_PAGE.slice('{"items":['.length);
const ROOMS_PAGE = JSON.stringify({ items: [{ id: 'r0' }, { id: 'r1' }] });
const LOGIN = JSON.stringify({ access_token: 'bench-token', user_id: USER, tenant_id: TENANT, role: 'admin' });
const OK = JSON.stringify({ ok: true });

const MESSAGES = /^\/api\/v1\/rooms\/([^/?]+)\/messages(\?.*)?$/;
const MEMBERS = /^\/api\/v1\/rooms\/[^/?]+\/members$/;

function readBody(req: IncomingMessage, done: (text: string) => void): void {
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (text += c));
  req.on('end', () => done(text));
}

function bodyField(text: string): string | undefined {
  try {
    const b = (JSON.parse(text) as { body?: unknown }).body;
    return typeof b === 'string' && b.length > 0 ? b : undefined;
  } catch {
    return undefined;
  }
}

/** The route of a request, with ids replaced (`/api/v1/rooms/:id/messages`) and a cursor page named apart. */
export function routeOf(method: string, url: string): string {
  const path = url.split('?', 1)[0]!.replace(/^\/api\/v1\/rooms\/[^/]+\//, '/api/v1/rooms/:id/');
  return `${method} ${path}${/[?&]cursor=/.test(url) ? ' (cursor)' : ''}`;
}

export async function startEndpoint(opts: EndpointOptions): Promise<RunningEndpoint> {
  let ids = 0;
  /** The last message stored per room (by the room id as it is in the URL): the first page shows it. */
  const lastStored = new Map<string, string>();
  const counts = new Map<string, number>();
  const count = (route: string): void => void counts.set(route, (counts.get(route) ?? 0) + 1);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    count(routeOf(req.method ?? 'GET', url));
    if (url === '/health') return json(res, 200, '{"status":"ok"}');
    if (req.method === 'POST' && url === '/api/v1/auth/login') return readBody(req, () => json(res, 200, LOGIN));
    if (!url.startsWith('/api/v1/')) return json(res, 404, '{"error":"not found"}');
    if (!req.headers.authorization?.startsWith('Bearer ')) return json(res, 401, '{"error":"bearer token is required"}');
    if (req.method === 'GET') {
      const m = MESSAGES.exec(url);
      if (m) {
        if (m[2]?.includes('cursor=')) return json(res, 200, LAST_PAGE);
        const last = lastStored.get(m[1]!);
        return json(res, 200, last ? `{"items":[${last},${FIRST_PAGE_REST}` : FIRST_PAGE);
      }
      if (url.startsWith('/api/v1/rooms')) return json(res, 200, ROOMS_PAGE);
      return json(res, 404, '{"error":"not found"}');
    }
    readBody(req, (text) => {
      const m = MESSAGES.exec(url);
      if (m) {
        const body = bodyField(text);
        if (!body) return json(res, 400, '{"error":"body required"}');
        const stored = JSON.stringify(storedMessage(decodeURIComponent(m[1]!), body, ++ids));
        lastStored.set(m[1]!, stored);
        return json(res, 201, stored);
      }
      if (MEMBERS.test(url)) return json(res, 200, OK);
      if (url === '/api/v1/rooms' || url === '/api/v1/users' || url === '/api/v1/org-units') return json(res, 201, `{"id":"x${++ids}"}`);
      json(res, 404, '{"error":"not found"}');
    });
  };

  const server: Server = createServer(handle);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const rooms: Array<Set<WebSocket>> = [];
  let connections = 0;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Bad Request'}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"${text}"}`);
    };
    if (url.pathname !== '/ws') return refuse(400, 'not found');
    const token = req.headers.authorization?.replace(/^Bearer /, '') || url.searchParams.get('access_token');
    if (!token) return refuse(401, 'bearer token is required');
    const roomId = url.searchParams.get('room_id');
    if (!roomId) return refuse(400, 'room_id is required');
    wss.handleUpgrade(req, socket, head, (ws) => {
      count('WS upgrade');
      const index = Math.floor(connections++ / opts.roomSize);
      const room = (rooms[index] ??= new Set());
      room.add(ws);
      ws.on('close', () => room.delete(ws));
      ws.on('error', () => room.delete(ws));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let frame: { type?: string; payload?: { body?: unknown } };
        try {
          frame = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (frame.type !== 'message') return;
        count('WS message');
        const body = frame.payload?.body;
        if (typeof body !== 'string' || body.length === 0) {
          ws.send('{"type":"error","error":"body required"}');
          return;
        }
        const out = JSON.stringify({ type: 'message', room_id: roomId, user_id: USER, target_id: roomId, payload: storedMessage(roomId, body, ++ids) });
        for (const peer of room) if (peer.readyState === peer.OPEN) peer.send(out);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts: () => Object.fromEntries(counts),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
