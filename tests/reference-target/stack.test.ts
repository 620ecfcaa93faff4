/**
 * The reference stack end to end, on one started stack (real PostgreSQL, Redis, 3 dbman nodes, 2 chat instances,
 * orghub): every endpoint of the subset with its bad input, the WebSocket's upgrade statuses and frames, fan-out
 * across the two chat instances, dbman health and draining, and `down` leaving nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED } from '../../reference-target/db/migrate.js';
import { bundlePath } from '../../reference-target/launcher/build.js';
import { freePorts } from '../../reference-target/launcher/ports.js';
import { findMarked, isAlive, procStartTime, type ProcRecord } from '../../reference-target/launcher/procs.js';
import { stackStatus, startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { WsConn, call, openWs, openWsOk, sleep } from './helpers.js';

const targetFilePath = join(mkdtempSync(join(tmpdir(), 'target-test-')), 'target.json');
let stack: RunningStack;
let chat: string; // chat-1
let chat2: string;
let auth: string;
let ws1: string;
let ws2: string;
let admin: { token: string; userId: string };
const extra: ChildProcess[] = [];
const sockets: WsConn[] = [];

async function login(email: string, password: string, tenant = 'default') {
  const r = await call('POST', `${auth}/api/v1/auth/login`, { body: { tenant_id: tenant, email, password } });
  expect(r.status).toBe(200);
  return { token: r.body.access_token as string, userId: r.body.user_id as string, role: r.body.role as string };
}

let userSeq = 0;
async function newUser(role: 'admin' | 'manager' | 'user' = 'user') {
  const email = `u${Date.now()}-${userSeq++}@example.com`;
  const r = await call('POST', `${auth}/api/v1/users`, {
    token: admin.token,
    body: { org_id: SEED.orgUnitId, email, password: 'secret-1', name: `User ${userSeq}`, role },
  });
  expect(r.status).toBe(201);
  const l = await login(email, 'secret-1');
  expect(l.userId).toBe(r.body.id);
  return { ...l, email };
}

async function newRoom(token: string, body: Record<string, unknown> = {}) {
  const r = await call('POST', `${chat}/api/v1/rooms`, { token, body: { name: 'room', ...body } });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

async function ws(base: string, roomId: string, token: string) {
  const c = await openWsOk(`${base}?room_id=${roomId}&access_token=${token}`);
  sockets.push(c);
  return c;
}

beforeAll(async () => {
  stack = await startStack({ targetFilePath });
  const t = stack.target;
  chat = t.chatUrl;
  chat2 = t.chatInstances[1]!.url;
  auth = t.authUrl;
  ws1 = t.wsUrl;
  ws2 = `${chat2.replace(/^http/, 'ws')}/ws`;
  admin = await login(t.login.email, t.login.password, t.tenantId);
});

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
  for (const c of extra) if (c.exitCode === null) c.kill('SIGKILL');
  if (existsSync(targetFilePath)) await stopStack(targetFilePath);
});

describe('the target description file', () => {
  it('names every component with its pid, the login and the reference block', async () => {
    const t = stack.target;
    expect(t.dbmanNodes.map((n) => n.name)).toEqual(['dbman-1', 'dbman-2', 'dbman-3']);
    expect(t.chatInstances.map((n) => n.name)).toEqual(['chat-1', 'chat-2']);
    expect(t.orghub?.name).toBe('orghub');
    expect(t.sessionInstances.map((n) => n.name)).toEqual(['session']);
    expect(t.tenanthubInstances.map((n) => n.name)).toEqual(['tenanthub']);
    expect([t.sessionUrl, t.tenanthubUrl]).toEqual([t.sessionInstances[0]!.url, t.tenanthubInstances[0]!.url]);
    for (const c of [...t.dbmanNodes, ...t.chatInstances, t.orghub!, ...t.sessionInstances, ...t.tenanthubInstances]) {
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(isAlive({ pid: c.faults.pid! })).toBe(true);
    }
    expect(t.tenantId).toBe('default');
    expect(t.login).toEqual({ email: 'admin@example.com', password: 'pass1234' });
    expect(t.reference?.flaws).toEqual([]);
    expect(t.reference?.postgres.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(t.reference?.['dbmanEndpoints']).toEqual(t.dbmanNodes.map((n) => n.url));
    expect(existsSync(t.reference!.stateDir)).toBe(true);
    const status = await stackStatus(targetFilePath);
    expect(status.map((s) => `${s.name}:${s.healthy}`)).toEqual([
      'dbman-1:true', 'dbman-2:true', 'dbman-3:true', 'chat-1:true', 'chat-2:true', 'orghub:true', 'session:true', 'tenanthub:true', 'postgres:true', 'redis:true',
    ]);
  });
});

describe('orghub', () => {
  it('GET /health', async () => {
    expect(await call('GET', `${auth}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('login: 200 with token, 401 wrong credentials, 400 missing field or bad body', async () => {
    const ok = await call('POST', `${auth}/api/v1/auth/login`, { body: { tenant_id: 'default', email: 'admin@example.com', password: 'pass1234' } });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'role', 'tenant_id', 'user_id']);
    expect(ok.body).toMatchObject({ tenant_id: 'default', role: 'admin', user_id: SEED.adminId });
    const wrong = await call('POST', `${auth}/api/v1/auth/login`, { body: { tenant_id: 'default', email: 'admin@example.com', password: 'nope' } });
    expect(wrong).toEqual({ status: 401, body: { error: 'invalid credentials' } });
    const otherTenant = await call('POST', `${auth}/api/v1/auth/login`, { body: { tenant_id: 'acme', email: 'admin@example.com', password: 'pass1234' } });
    expect(otherTenant).toEqual({ status: 401, body: { error: 'invalid credentials' } });
    for (const missing of ['tenant_id', 'email', 'password']) {
      const body: Record<string, string> = { tenant_id: 'default', email: 'admin@example.com', password: 'pass1234' };
      delete body[missing];
      const r = await call('POST', `${auth}/api/v1/auth/login`, { body });
      expect(r).toEqual({ status: 400, body: { error: `${missing} is required` } });
    }
    expect((await call('POST', `${auth}/api/v1/auth/login`, { raw: '{not json' })).status).toBe(400);
  });

  it('POST /api/v1/users: 201, 400, 401, 403, 409', async () => {
    const url = `${auth}/api/v1/users`;
    const body = { org_id: SEED.orgUnitId, email: `new${Date.now()}@example.com`, password: 'pw-123456', name: 'New', title: 'Dev' };
    expect(await call('POST', url, { body })).toEqual({ status: 401, body: { error: 'bearer token is required' } });
    expect(await call('POST', url, { body, token: 'x.y.z' })).toEqual({ status: 401, body: { error: 'invalid token' } });
    const created = await call('POST', url, { body, token: admin.token });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(['id']);
    expect(await call('POST', url, { body, token: admin.token })).toEqual({ status: 409, body: { error: 'email already exists' } });
    expect(await call('POST', url, { body: { ...body, name: undefined }, token: admin.token })).toEqual({ status: 400, body: { error: 'name is required' } });
    expect((await call('POST', url, { body: { ...body, email: 'x2@example.com', role: 'boss' }, token: admin.token })).status).toBe(400);
    const noOrg = await call('POST', url, { body: { ...body, email: 'x3@example.com', org_id: '00000000-0000-4000-8000-00000000ffff' }, token: admin.token });
    expect(noOrg).toEqual({ status: 400, body: { error: 'org unit not found' } });
    // a plain user may not create users; a manager may
    const user = await newUser('user');
    expect(await call('POST', url, { body: { ...body, email: 'x4@example.com' }, token: user.token })).toEqual({ status: 403, body: { error: 'forbidden' } });
    const manager = await newUser('manager');
    expect(manager.role).toBe('manager');
    expect((await call('POST', url, { body: { ...body, email: `m${Date.now()}@example.com` }, token: manager.token })).status).toBe(201);
  });

  it('org units: seeded unit listed, create 201, 400 without name, 403 for a plain user', async () => {
    const url = `${auth}/api/v1/org-units`;
    const list = await call('GET', url, { token: admin.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: { id: string }) => u.id)).toContain(SEED.orgUnitId);
    const created = await call('POST', url, { token: admin.token, body: { name: 'Sales' } });
    expect(created.status).toBe(201);
    const again = await call('GET', url, { token: admin.token });
    expect(again.body.items).toContainEqual(expect.objectContaining({ id: created.body.id, name: 'Sales' }));
    expect(await call('POST', url, { token: admin.token, body: {} })).toEqual({ status: 400, body: { error: 'name is required' } });
    expect((await call('GET', url)).status).toBe(401);
    const user = await newUser('user');
    expect((await call('GET', url, { token: user.token })).status).toBe(403);
  });
});

describe('chat REST', () => {
  it('GET /health', async () => {
    expect(await call('GET', `${chat}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await call('GET', `${chat2}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('POST /rooms: 201 {id}, 400 bad input, 401 without or with a bad token', async () => {
    const url = `${chat}/api/v1/rooms`;
    const other = await newUser();
    const r = await call('POST', url, { token: admin.token, body: { name: 'g', room_type: 'group', member_ids: [other.userId] } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body)).toEqual(['id']);
    expect((await call('POST', url, { token: admin.token, body: { name: 'd', room_type: 'direct', member_ids: [other.userId] } })).status).toBe(201);
    expect(await call('POST', url, { token: admin.token, body: {} })).toEqual({ status: 400, body: { error: 'name is required' } });
    expect((await call('POST', url, { token: admin.token, body: { name: 'x', room_type: 'channel' } })).status).toBe(400);
    expect((await call('POST', url, { token: admin.token, body: { name: 'x', member_ids: 'nope' } })).status).toBe(400);
    expect(await call('POST', url, { token: admin.token, body: { name: 'x', member_ids: ['00000000-0000-4000-8000-00000000abcd'] } })).toEqual({
      status: 400,
      body: { error: 'member not found' },
    });
    expect(await call('POST', url, { body: { name: 'x' } })).toEqual({ status: 401, body: { error: 'bearer token is required' } });
    expect(await call('POST', url, { token: 'bad', body: { name: 'x' } })).toEqual({ status: 401, body: { error: 'invalid token' } });
    // the member sees the room
    const rooms = await call('GET', url, { token: other.token });
    expect(rooms.body.items.map((x: { id: string }) => x.id)).toContain(r.body.id);
  });

  it('GET /rooms pages the caller\'s rooms newest first with next_cursor absent on the last page', async () => {
    const u = await newUser();
    const ids = [await newRoom(u.token, { name: 'a' }), await newRoom(u.token, { name: 'b' }), await newRoom(u.token, { name: 'c' })];
    const p1 = await call('GET', `${chat}/api/v1/rooms?limit=2`, { token: u.token });
    expect(p1.status).toBe(200);
    expect(p1.body.items.map((x: { id: string }) => x.id)).toEqual([ids[2], ids[1]]);
    expect(typeof p1.body.next_cursor).toBe('string');
    const p2 = await call('GET', `${chat}/api/v1/rooms?limit=2&cursor=${encodeURIComponent(p1.body.next_cursor)}`, { token: u.token });
    expect(p2.body.items.map((x: { id: string }) => x.id)).toEqual([ids[0]]);
    expect('next_cursor' in p2.body).toBe(false);
    expect(p2.body.items[0]).toMatchObject({ id: ids[0], name: 'a', room_type: 'group', created_by: u.userId });
    expect((await call('GET', `${chat}/api/v1/rooms?cursor=garbage`, { token: u.token })).status).toBe(400);
    expect((await call('GET', `${chat}/api/v1/rooms`)).status).toBe(401);
  });

  it('POST /rooms/:id/members: 200 ok, 403 for a non-member, 404 unknown user, 400 without user_id', async () => {
    const owner = await newUser();
    const guest = await newUser();
    const outsider = await newUser();
    const room = await newRoom(owner.token);
    const url = `${chat}/api/v1/rooms/${room}/members`;
    expect(await call('POST', url, { token: outsider.token, body: { user_id: outsider.userId } })).toEqual({ status: 403, body: { error: 'room access denied' } });
    expect((await call('POST', url, { token: owner.token, body: { user_id: '00000000-0000-4000-8000-00000000abcd' } })).status).toBe(404);
    expect(await call('POST', url, { token: owner.token, body: {} })).toEqual({ status: 400, body: { error: 'user_id is required' } });
    expect(await call('POST', url, { token: owner.token, body: { user_id: guest.userId } })).toEqual({ status: 200, body: { ok: true } });
    expect((await call('POST', `${chat}/api/v1/rooms/${room}/messages`, { token: guest.token, body: { body: 'joined' } })).status).toBe(201);
    expect(await call('POST', `${chat}/api/v1/rooms/not-a-room/members`, { token: owner.token, body: { user_id: guest.userId } })).toEqual({
      status: 403,
      body: { error: 'room access denied' },
    });
  });

  it('POST /rooms/:id/messages: 201 with the stored message, 400 without body, 403 for a non-member', async () => {
    const room = await newRoom(admin.token);
    const url = `${chat}/api/v1/rooms/${room}/messages`;
    const r = await call('POST', url, { token: admin.token, body: { body: 'hello', file_ids: ['f1'], emojis: ['👍'] } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['body', 'created_at', 'id', 'meta_json', 'room_id', 'sender_id', 'tenant_id']);
    expect(r.body).toMatchObject({ tenant_id: 'default', room_id: room, sender_id: admin.userId, body: 'hello', meta_json: { file_ids: ['f1'], emojis: ['👍'] } });
    expect(r.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(await call('POST', url, { token: admin.token, body: {} })).toEqual({ status: 400, body: { error: 'body required' } });
    expect(await call('POST', url, { token: admin.token, body: { body: '' } })).toEqual({ status: 400, body: { error: 'body required' } });
    expect((await call('POST', url, { token: admin.token, body: { body: 'x', file_ids: 'f' } })).status).toBe(400);
    const outsider = await newUser();
    expect(await call('POST', url, { token: outsider.token, body: { body: 'x' } })).toEqual({ status: 403, body: { error: 'room access denied' } });
    expect(await call('GET', url, { token: outsider.token })).toEqual({ status: 403, body: { error: 'room access denied' } });
    expect((await call('POST', url, { body: { body: 'x' } })).status).toBe(401);
  });

  it('GET /rooms/:id/messages: newest first, cursor pages, limit outside 1..200 falls back to 50', async () => {
    const room = await newRoom(admin.token);
    const url = `${chat}/api/v1/rooms/${room}/messages`;
    const sent: string[] = [];
    for (let i = 0; i < 55; i++) {
      const r = await call('POST', url, { token: admin.token, body: { body: `m${i}` } });
      sent.push(r.body.id);
    }
    const newestFirst = [...sent].reverse();
    const seen: string[] = [];
    let cursor: string | undefined;
    const sizes: number[] = [];
    do {
      const r = await call('GET', `${url}?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin.token });
      expect(r.status).toBe(200);
      sizes.push(r.body.items.length);
      seen.push(...r.body.items.map((m: { id: string }) => m.id));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([20, 20, 15]);
    expect(seen).toEqual(newestFirst);
    for (const limit of ['0', '201', 'abc', '-5', '']) {
      const r = await call('GET', `${url}?limit=${limit}`, { token: admin.token });
      expect(r.body.items).toHaveLength(50);
      expect(r.body.next_cursor).toBeDefined();
    }
    const noLimit = await call('GET', url, { token: admin.token });
    expect(noLimit.body.items).toHaveLength(50);
    const all = await call('GET', `${url}?limit=200`, { token: admin.token });
    expect(all.body.items).toHaveLength(55);
    expect('next_cursor' in all.body).toBe(false);
    expect(all.body.items[0]).toMatchObject({ body: 'm54', sender_id: admin.userId });
    expect((await call('GET', `${url}?cursor=xyz`, { token: admin.token })).status).toBe(400);
  });

  it('unread-count and read', async () => {
    const reader = await newUser();
    const room = await newRoom(admin.token, { member_ids: [reader.userId] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('POST', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token, body: { body: `n${i}` } })).body.id);
    const count = await call('GET', `${chat}/api/v1/rooms/${room}/unread-count`, { token: reader.token });
    expect(count).toEqual({ status: 200, body: { room_id: room, user_id: reader.userId, unread_count: 3 } });
    expect(await call('POST', `${chat}/api/v1/rooms/${room}/read`, { token: reader.token, body: { message_id: ids[1] } })).toEqual({ status: 200, body: { ok: true } });
    expect((await call('GET', `${chat}/api/v1/rooms/${room}/unread-count`, { token: reader.token })).body.unread_count).toBe(1);
    expect(await call('POST', `${chat}/api/v1/rooms/${room}/read`, { token: reader.token, body: {} })).toEqual({ status: 400, body: { error: 'message_id is required' } });
    expect((await call('POST', `${chat}/api/v1/rooms/${room}/read`, { token: reader.token, body: { message_id: SEED.adminId } })).status).toBe(404);
    const outsider = await newUser();
    expect((await call('GET', `${chat}/api/v1/rooms/${room}/unread-count`, { token: outsider.token })).status).toBe(403);
  });
});

describe('chat WebSocket', () => {
  it('refuses the upgrade with 401, 400 and 403 as the contract says', async () => {
    const room = await newRoom(admin.token);
    const outsider = await newUser();
    expect(await openWs(`${ws1}?room_id=${room}`)).toEqual({ status: 401, body: { error: 'bearer token is required' } });
    expect(await openWs(`${ws1}?room_id=${room}&access_token=bad`)).toEqual({ status: 401, body: { error: 'invalid token' } });
    expect(await openWs(`${ws1}?access_token=${admin.token}`)).toEqual({ status: 400, body: { error: 'room_id is required' } });
    expect(await openWs(`${ws1}?room_id=${room}&access_token=${outsider.token}`)).toEqual({ status: 403, body: { error: 'room access denied' } });
    const viaHeader = await openWs(`${ws1}?room_id=${room}`, { authorization: `Bearer ${admin.token}` });
    expect(viaHeader).toBeInstanceOf(WsConn);
    await (viaHeader as WsConn).close();
  });

  it('stores a message, echoes it to the sender, refuses a repeated client_msg_id and stores it once', async () => {
    const room = await newRoom(admin.token);
    const c = await ws(ws1, room, admin.token);
    c.send({ type: 'message', payload: { client_msg_id: 'k-1', body: 'first', file_ids: [], emojis: [] } });
    const echo = await c.waitFor((f) => f.type === 'message' && f.payload.body === 'first');
    expect(Object.keys(echo).sort()).toEqual(['payload', 'room_id', 'target_id', 'type', 'user_id']);
    expect(echo).toMatchObject({ room_id: room, user_id: admin.userId, payload: { room_id: room, sender_id: admin.userId, tenant_id: 'default' } });
    expect(echo.payload.client_msg_id).toBeUndefined();
    c.send({ type: 'message', payload: { client_msg_id: 'k-1', body: 'first' } });
    expect(await c.waitFor((f) => f.type === 'error')).toEqual({ type: 'error', error: 'duplicate client_msg_id' });
    const list = await call('GET', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token });
    expect(list.body.items.map((m: { body: string }) => m.body)).toEqual(['first']);
    // the same key from another user is a different key
    const other = await newUser();
    expect((await call('POST', `${chat}/api/v1/rooms/${room}/members`, { token: admin.token, body: { user_id: other.userId } })).status).toBe(200);
    const c2 = await ws(ws1, room, other.token);
    c2.send({ type: 'message', payload: { client_msg_id: 'k-1', body: 'second' } });
    await c2.waitFor((f) => f.type === 'message' && f.payload.body === 'second');
  });

  it('answers bad frames with error frames', async () => {
    const room = await newRoom(admin.token);
    const c = await ws(ws1, room, admin.token);
    c.send({ type: 'message', payload: { client_msg_id: 'e-1', body: '' } });
    expect(await c.waitFor((f) => f.type === 'error')).toEqual({ type: 'error', error: 'body required' });
    c.sendRaw('{nope');
    await c.waitFor((f) => f.error === 'invalid frame');
    c.send({ type: 'dance', payload: {} });
    await c.waitFor((f) => f.error === 'unsupported frame type');
    // the empty-body key was not used up: nothing was stored
    expect((await call('GET', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token })).body.items).toEqual([]);
  });

  it('sends an unauthorized error frame once the token has expired', async () => {
    const room = await newRoom(admin.token);
    const secret = new TextEncoder().encode(stack.target.reference!['jwtSecret'] as string);
    const shortLived = await new SignJWT({ user_id: admin.userId, tenant_id: 'default', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(admin.userId)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(secret);
    const c = await ws(ws1, room, shortLived);
    await sleep(2100);
    c.send({ type: 'message', payload: { client_msg_id: 'late', body: 'late' } });
    expect(await c.waitFor((f) => f.type === 'error')).toEqual({ type: 'error', error: 'unauthorized' });
  });

  it('fans out one room across both chat instances, REST messages included', async () => {
    const peer = await newUser();
    const room = await newRoom(admin.token, { member_ids: [peer.userId] });
    const a = await ws(ws1, room, admin.token); // on chat-1
    const b = await ws(ws2, room, peer.token); // on chat-2
    a.send({ type: 'message', payload: { client_msg_id: 'f-1', body: 'from chat-1' } });
    const atB = await b.waitFor((f) => f.type === 'message' && f.payload.body === 'from chat-1');
    expect(atB.user_id).toBe(admin.userId);
    b.send({ type: 'message', payload: { client_msg_id: 'f-2', body: 'from chat-2' } });
    await a.waitFor((f) => f.type === 'message' && f.payload.body === 'from chat-2');
    const rest = await call('POST', `${chat2}/api/v1/rooms/${room}/messages`, { token: peer.token, body: { body: 'via REST' } });
    expect(rest.status).toBe(201);
    const atA = await a.waitFor((f) => f.type === 'message' && f.payload.body === 'via REST');
    expect(atA.payload).toEqual(rest.body);
    // a socket of another room sees none of it
    const elsewhere = await ws(ws2, await newRoom(admin.token), admin.token);
    await sleep(200);
    expect(elsewhere.frames).toEqual([]);
  });

  it('relays webrtc signalling frames to the others in the room without storing them', async () => {
    const peer = await newUser();
    const room = await newRoom(admin.token, { member_ids: [peer.userId] });
    const a = await ws(ws1, room, admin.token);
    const b = await ws(ws2, room, peer.token);
    a.send({ type: 'webrtc_offer', payload: { target_id: peer.userId, sdp: 'v=0' } });
    const got = await b.waitFor((f) => f.type === 'signal_webrtc_offer');
    expect(got).toMatchObject({ room_id: room, user_id: admin.userId, target_id: peer.userId, payload: { sdp: 'v=0' } });
    b.send({ type: 'webrtc_ice', payload: { candidate: 'c' } });
    await a.waitFor((f) => f.type === 'signal_webrtc_ice');
    expect(a.frames.some((f) => f.type === 'signal_webrtc_offer')).toBe(false);
    expect((await call('GET', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token })).body.items).toEqual([]);
  });
});

describe('dbman nodes', () => {
  it('answer /health/live, /health/ready and /health, and the internal API', async () => {
    for (const n of stack.target.dbmanNodes) {
      expect(await call('GET', `${n.url}/health/live`)).toEqual({ status: 200, body: { status: 'alive' } });
      expect(await call('GET', `${n.url}/health/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
      expect(await call('GET', `${n.url}/health`)).toEqual({ status: 200, body: { status: 'ready' } });
    }
    const n = stack.target.dbmanNodes[0]!.url;
    const tenants = await call('POST', `${n}/api/internal/v1/db/tenants/list`, { body: {} });
    expect(tenants).toEqual({ status: 200, body: { items: [{ id: 'default', name: 'Default' }] } });
    expect((await call('POST', `${n}/api/internal/v1/db/no/such/op`, { body: {} })).status).toBe(404);
    const bad = await call('POST', `${n}/api/internal/v1/db/messages`, { body: { tenant_id: 'default' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^room_id: /);
  });

  async function extraNode(env: Record<string, string>) {
    const [port] = await freePorts(1);
    const child = spawn(process.execPath, [bundlePath('dbman')], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DBMAN_READY_TIMEOUT_MS: '300', ...env },
      stdio: 'ignore',
    });
    extra.push(child);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${url}/health/live`);
        break;
      } catch {
        await sleep(50);
      }
    }
    return { url, child };
  }

  it('/health/ready answers 503 not_ready when PostgreSQL does not answer (and 200 with ready-lies)', async () => {
    const [deadPort] = await freePorts(1);
    const deadDb = `postgres://postgres@127.0.0.1:${deadPort}/postgres`;
    const [honest, liar] = await Promise.all([extraNode({ DATABASE_URL: deadDb }), extraNode({ DATABASE_URL: deadDb, TARGET_FLAWS: 'ready-lies' })]);
    expect((await call('GET', `${honest.url}/health/live`)).status).toBe(200);
    for (const path of ['/health/ready', '/health']) {
      const r = await call('GET', `${honest.url}${path}`);
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not_ready');
      expect(typeof r.body.error).toBe('string');
      expect(await call('GET', `${liar.url}${path}`)).toEqual({ status: 200, body: { status: 'ready' } });
    }
  });

  it('retry-duplicates at a share: that share of message writes is committed and answered 503', async () => {
    const pgUrl = stack.target.reference!.postgres.url;
    const flawed = await extraNode({ DATABASE_URL: pgUrl, TARGET_FLAWS: 'retry-duplicates', TARGET_FLAW_DUPLICATE_SHARE: '0.5' });
    const room = await newRoom(admin.token);
    const write = (url: string, i: number) =>
      call('POST', `${url}/api/internal/v1/db/messages`, { body: { tenant_id: 'default', room_id: room, sender_id: admin.userId, body: `d${i}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await write(flawed.url, i)).status);
    const failed = statuses.filter((st) => st === 503).length;
    expect(failed).toBeGreaterThan(10); // binomial(60, 0.5): 30 ± 4
    expect(failed).toBeLessThan(50);
    expect(statuses.filter((st) => st !== 503 && st !== 201)).toEqual([]);
    const list = await call('GET', `${chat}/api/v1/rooms/${room}/messages?limit=200`, { token: admin.token });
    expect(list.body.items).toHaveLength(60); // every write was committed, the 503s included
    // a node without the flaw never does that
    const healthy = stack.target.dbmanNodes[0]!.url;
    for (let i = 0; i < 20; i++) expect((await write(healthy, 100 + i)).status).toBe(201);
  });

  it('on SIGTERM: not ready at once, finishes the request in flight, then exits', async () => {
    const pgUrl = stack.target.reference!.postgres.url;
    const node = await extraNode({ DATABASE_URL: pgUrl });
    expect((await call('GET', `${node.url}/health/ready`)).status).toBe(200);
    const room = await newRoom(admin.token);
    // hold a lock so that the node's insert stays in flight
    const locker = new pg.Client({ connectionString: pgUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      const inFlight = call('POST', `${node.url}/api/internal/v1/db/messages`, {
        body: { tenant_id: 'default', room_id: room, sender_id: admin.userId, body: 'in flight' },
      });
      await sleep(200);
      const exited = new Promise<number | null>((r) => node.child.once('exit', (code) => r(code)));
      node.child.kill('SIGTERM');
      await sleep(100);
      expect(await call('GET', `${node.url}/health/ready`)).toEqual({ status: 503, body: { status: 'not_ready', error: 'draining' } });
      // new work is refused with a 5xx (the client moves on), the request in flight goes on
      expect(await call('POST', `${node.url}/api/internal/v1/db/tenants/list`, { body: {} })).toEqual({ status: 503, body: { error: 'draining' } });
      await locker.query('COMMIT');
      const res = await inFlight;
      expect(res.status).toBe(201);
      expect(res.body.body).toBe('in flight');
      expect(await exited).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it('DBMAN_DRAIN_DELAY_MS keeps serving (not ready) for a while after SIGTERM', async () => {
    const node = await extraNode({ DATABASE_URL: stack.target.reference!.postgres.url, DBMAN_DRAIN_DELAY_MS: '800' });
    const exited = new Promise<number | null>((r) => node.child.once('exit', (code) => r(code)));
    node.child.kill('SIGTERM');
    await sleep(100);
    expect((await call('GET', `${node.url}/health/ready`)).status).toBe(503);
    expect((await call('POST', `${node.url}/api/internal/v1/db/tenants/list`, { body: {} })).status).toBe(200);
    expect(await exited).toBe(0);
  });

  it('a service with a bad setting exits 2 with a one-line error', async () => {
    const child = spawn(process.execPath, [bundlePath('dbman')], { env: { ...process.env, DATABASE_URL: 'mysql://x', PORT: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err.trim()).toMatch(/^dbman: DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});

describe('migrations', () => {
  it('the bundled runner applies each versioned migration once and seeds idempotently', async () => {
    const base = stack.target.reference!.postgres.url;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query('CREATE DATABASE migrate_check');
    await admin.end();
    const url = base.replace(/\/postgres$/, '/migrate_check');
    const run = () => spawnSync(process.execPath, [bundlePath('migrate')], { env: { ...process.env, DATABASE_URL: url, BCRYPT_COST: '4' }, encoding: 'utf8' });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/applied 0001_init\.sql, 0002_session_notes_tenant_settings\.sql/);
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/nothing pending/);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows).toEqual([
        { version: 1, name: '0001_init.sql' },
        { version: 2, name: '0002_session_notes_tenant_settings.sql' },
      ]);
      expect((await c.query("SELECT count(*)::int AS n FROM users WHERE email = 'admin@example.com'")).rows[0].n).toBe(1);
    } finally {
      await c.end();
    }
  });
});

describe('WS key release and down (last: they disturb the stack)', () => {
  it('releases the client_msg_id when storing fails, so the same key can be retried', async () => {
    const room = await newRoom(admin.token);
    const c = await ws(ws1, room, admin.token);
    // PostgreSQL refuses a NUL character in text: every dbman node answers 5xx and nothing is stored.
    c.send({ type: 'message', payload: { client_msg_id: 'retry-me', body: 'bad \u0000 body' } });
    expect(await c.waitFor((f) => f.type === 'error', 10_000)).toEqual({ type: 'error', error: 'failed to persist message' });
    expect((await call('GET', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token })).body.items).toEqual([]);
    c.send({ type: 'message', payload: { client_msg_id: 'retry-me', body: 'persist me' } });
    await c.waitFor((f) => f.type === 'message' && f.payload.body === 'persist me', 10_000);
    c.send({ type: 'message', payload: { client_msg_id: 'retry-me', body: 'persist me' } });
    expect(await c.waitFor((f) => f.type === 'error' && f.error !== 'failed to persist message')).toEqual({ type: 'error', error: 'duplicate client_msg_id' });
    const list = await call('GET', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token });
    expect(list.body.items.map((m: { body: string }) => m.body)).toEqual(['persist me']);
  });

  it('a frozen dbman node costs one timeout per request until its threshold trips; the others carry on', async () => {
    const room = await newRoom(admin.token);
    const frozen = stack.target.dbmanNodes[0]!.faults.pid!;
    process.kill(frozen, 'SIGSTOP');
    try {
      const times: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = Date.now();
        const r = await call('POST', `${chat}/api/v1/rooms/${room}/messages`, { token: admin.token, body: { body: `f${i}` } });
        times.push(Date.now() - t0);
        expect(r.status).toBe(201);
      }
      // chat-1's client: 1000 ms timeout, threshold 3 → at most 3 slow requests, then the node is skipped
      const slow = times.filter((t) => t >= 900).length;
      expect(slow).toBeGreaterThanOrEqual(1);
      expect(slow).toBeLessThanOrEqual(3);
      expect(times.slice(-3).every((t) => t < 900)).toBe(true);
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
  });

  it('down stops every process and removes the state folder and the target file', async () => {
    const procs = stack.target.reference!['processes'] as ProcRecord[];
    expect(procs.map((p) => p.name).sort()).toEqual(['chat-1', 'chat-2', 'dbman-1', 'dbman-2', 'dbman-3', 'orghub', 'postgres', 'redis', 'session', 'tenanthub']);
    await Promise.all(sockets.splice(0).map((s) => s.close().catch(() => undefined)));
    // a node restarted by someone else (as a chaos driver does: same command line, environment and folder)
    const node3 = stack.target.dbmanNodes[2]!;
    const cmdline = readFileSync(`/proc/${node3.faults.pid}/cmdline`, 'utf8').split('\0').filter((x) => x !== '');
    const env = Object.fromEntries(
      readFileSync(`/proc/${node3.faults.pid}/environ`, 'utf8')
        .split('\0')
        .filter((x) => x.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const cwd = readlinkSync(`/proc/${node3.faults.pid}/cwd`);
    process.kill(node3.faults.pid!, 'SIGKILL');
    await sleep(200);
    const copy = spawn(cmdline[0]!, cmdline.slice(1), { env, cwd, detached: true, stdio: 'ignore' });
    copy.unref();
    const copyRec = { pid: copy.pid!, startTime: procStartTime(copy.pid!) };
    for (let i = 0; i < 100 && (await call('GET', `${node3.url}/health/live`).catch(() => ({ status: 0 }))).status !== 200; i++) await sleep(50);
    const st = (await stackStatus(targetFilePath)).find((x) => x.name === 'dbman-3')!;
    expect(st).toMatchObject({ running: true, healthy: true, pid: copy.pid });
    expect(st.detail).toMatch(/restarted as pid/);
    // a paused process must not survive either
    process.kill(stack.target.chatInstances[1]!.faults.pid!, 'SIGSTOP');
    const t0 = Date.now();
    await stack.down();
    for (const p of procs) expect(isAlive(p), p.name).toBe(false);
    expect(isAlive(copyRec), 'restarted dbman-3').toBe(false);
    expect(findMarked(stack.target.reference!['stackId'] as string)).toEqual([]);
    expect(existsSync(stack.target.reference!.stateDir)).toBe(false);
    expect(existsSync(targetFilePath)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(8000);
  });
});
