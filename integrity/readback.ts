/**
 * Reads back every message of the given rooms through the public API only (so it works against a real
 * deployment): login at AUTH_URL with the target's login, then `GET /api/v1/rooms/:id/messages?limit=200`
 * following `next_cursor` to the last page. The login the suite's setup() uses created every room, so it is a
 * member of each (the contract: the creator is a member).
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

/** Every message of one room, all pages (newest first as the API gives them). */
export async function readRoom(target: TargetFile, token: string, room: string): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const qs = `limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
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
    for (const m of b.items ?? []) {
      out.push({ id: String(m.id ?? ''), room, body: typeof m.body === 'string' ? m.body : '', ...(typeof m.created_at === 'string' ? { createdAt: m.created_at } : {}) });
    }
    if (typeof b.next_cursor !== 'string' || b.next_cursor === '' || (b.items ?? []).length === 0) return out;
    cursor = b.next_cursor;
  }
  throw new Error(`integrity: room ${room} has more than ${MAX_PAGES} pages`);
}

/** Reads several rooms, `concurrency` at a time. */
export async function readRooms(target: TargetFile, rooms: readonly string[], concurrency = 4): Promise<StoredMessage[]> {
  const token = await login(target);
  const out: StoredMessage[] = [];
  let next = 0;
  const worker = async () => {
    while (next < rooms.length) {
      const room = rooms[next++]!;
      out.push(...(await readRoom(target, token, room)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rooms.length) }, worker));
  return out;
}
