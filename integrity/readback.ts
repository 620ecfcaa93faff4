/**
 * Reads back every message of the given rooms through the public API only (so it works against a real
 * deployment): login at AUTH_URL with the target's login, then `GET /api/v1/rooms/:id/messages?limit=<n>`
 * following `next_cursor` to the last page (default n = 50, the contract's default page size; the real chat
 * answers a limit of 200 with 50 items and no cursor). The login the suite's setup() uses created every room, so
 * it is a member of each (the contract: the creator is a member). What a read cannot prove (a short page without
 * a cursor, a list that lags) is judged in completeness.ts.
 */
import type { TargetFile } from '../runner/target-file.js';
import type { StoredMessage } from './classify.js';
import { guardedFetch } from '../runner/connections.js';

const TIMEOUT_MS = 15_000;
const MAX_PAGES = 100_000;

async function fetchJson(url: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await guardedFetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, body };
}

export async function login(target: TargetFile): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
    try {
      const r = await fetchJson(`${target.authUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant_id: target.tenantId, email: target.login.email, password: target.login.password }),
      });
      const token = (r.body as { access_token?: unknown })?.access_token;
      if (r.status === 200 && typeof token === 'string') return token;
      last = `HTTP ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`integrity: login as ${target.login.email} failed: ${last}`);
}

/** One room read through all its pages at one page size. */
export interface RoomRead {
  room: string;
  messages: StoredMessage[];
  pageSize: number;
  pages: number;
  /** Items on the last page (the one without next_cursor). */
  lastPageItems: number;
  /** When the read started (epoch ms). */
  atMs: number;
}

export const DEFAULT_PAGE_SIZE = 50;

/** Every message of one room, all pages, in whatever order the API gives them (classified by marker only). */
export async function readRoom(target: TargetFile, token: string, room: string, pageSize = DEFAULT_PAGE_SIZE): Promise<RoomRead> {
  const out: StoredMessage[] = [];
  const atMs = Date.now();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const qs = `limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    let r: { status: number; body: unknown } | undefined;
    let err = '';
    for (let attempt = 0; attempt < 3 && !r; attempt++) {
      if (attempt > 0) await new Promise((res) => setTimeout(res, 500 * attempt));
      try {
        const x = await fetchJson(`${target.chatUrl}/api/v1/rooms/${encodeURIComponent(room)}/messages?${qs}`, { headers: { authorization: `Bearer ${token}` } });
        if (x.status >= 500) err = `HTTP ${x.status}`;
        else r = x;
      } catch (e) {
        err = (e as Error).message;
      }
    }
    if (!r) throw new Error(`integrity: reading room ${room} failed: ${err}`);
    if (r.status !== 200) throw new Error(`integrity: reading room ${room}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    const b = r.body as { items?: { id?: unknown; body?: unknown; created_at?: unknown }[]; next_cursor?: unknown };
    const items = b.items ?? [];
    for (const m of items) {
      out.push({ id: String(m.id ?? ''), room, body: typeof m.body === 'string' ? m.body : '', ...(typeof m.created_at === 'string' ? { createdAt: m.created_at } : {}) });
    }
    if (typeof b.next_cursor !== 'string' || b.next_cursor === '' || items.length === 0) {
      return { room, messages: out, pageSize, pages: page + 1, lastPageItems: items.length, atMs };
    }
    cursor = b.next_cursor;
  }
  throw new Error(`integrity: room ${room} has more than ${MAX_PAGES} pages`);
}

/** Reads several rooms at one page size, `concurrency` at a time. */
export async function readRooms(target: TargetFile, token: string, rooms: readonly string[], pageSize = DEFAULT_PAGE_SIZE, concurrency = 4): Promise<Map<string, RoomRead>> {
  const out = new Map<string, RoomRead>();
  let next = 0;
  const worker = async () => {
    while (next < rooms.length) {
      const room = rooms[next++]!;
      out.set(room, await readRoom(target, token, room, pageSize));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rooms.length) }, worker));
  return out;
}
