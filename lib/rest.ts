/**
 * Typed client for the contract's REST calls (orghub login and users, chat rooms, members, messages) on k6/http.
 * Every request is tagged with `endpoint` (its group), `service` (the service it reaches: chat, orghub), `phase`,
 * `traffic` (`setup` during setup(), else `load`: the whole-run thresholds select `traffic:load`), and with a
 * templated `name` so room ids do not explode the metric series. Never logs a token or a password.
 */
import http from 'k6/http';
import type { Phase } from './types.js';

export type Endpoint =
  | 'login'
  | 'org_units_create'
  | 'users_create'
  | 'rooms_create'
  | 'rooms_list'
  | 'members_add'
  | 'message_store'
  | 'message_list';

export interface Call<T> {
  ok: boolean;
  status: number;
  /** ms, k6's http_req_duration of this request. */
  durationMs: number;
  data?: T;
  /** The answer's text when it was not decoded (a successful call made with `decode: false`). */
  text?: string;
  /** Short reason when !ok: `status 503: failed to …` or the k6 transport error; never contains secrets. */
  error?: string;
}

export interface LoginResult {
  token: string;
  userId: string;
  role: string;
}

export interface StoredMessage {
  tenant_id: string;
  id: string;
  room_id: string;
  sender_id: string;
  body: string;
  meta_json?: unknown;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export interface ApiOptions {
  chatUrl: string;
  authUrl: string;
  timeoutS: number;
  /** Called for every request to get the current phase tag (`setup` during setup()). */
  phase: () => Phase | 'setup';
}

type Json = Record<string, unknown>;

interface RequestParams {
  headers: Record<string, string>;
  timeout: string;
  tags: Record<string, string>;
}

/** No extra tags (the default): such requests share cached params. */
const NO_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || body.length === 0) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export function errorText(res: http.RefinedResponse<'text'>, json: unknown): string {
  if (res.status === 0) return `no response: ${res.error || 'transport error'}`.slice(0, 160);
  const e = json && typeof json === 'object' && 'error' in json ? String((json as Json).error) : '';
  return `status ${res.status}${e ? `: ${e}` : ''}`.slice(0, 160);
}

export class ChatApi {
  constructor(
    private readonly opts: ApiOptions,
    private readonly token?: string,
  ) {}

  /** Same endpoints, another user's token. */
  as(token: string): ChatApi {
    return new ChatApi(this.opts, token);
  }

  /**
   * The request params (headers and tags) of one endpoint in one phase, made once and reused: building them per
   * request was a measurable share of the suite's REST CPU in k6's interpreter. Calls with extra tags build theirs.
   */
  private readonly paramsCache = new Map<string, RequestParams>();

  private params(base: 'chat' | 'auth', root: string, name: string, endpoint: Endpoint, extraTags: Record<string, string>): RequestParams {
    const phase = this.opts.phase();
    const plain = extraTags === NO_TAGS;
    const key = `${endpoint}|${root}${name}|${phase}`;
    const cached = plain ? this.paramsCache.get(key) : undefined;
    if (cached) return cached;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const params = {
      headers,
      timeout: `${this.opts.timeoutS}s`,
      tags: { endpoint, service: base === 'chat' ? 'chat' : 'orghub', phase, traffic: phase === 'setup' ? 'setup' : 'load', name: `${root}${name}`, ...extraTags },
    };
    if (plain) this.paramsCache.set(key, params);
    return params;
  }

  private request<T>(
    method: 'GET' | 'POST',
    base: 'chat' | 'auth',
    path: string,
    name: string,
    endpoint: Endpoint,
    body: Json | undefined,
    ok: (status: number) => boolean,
    extraTags: Record<string, string> = NO_TAGS,
    decode = true,
  ): Call<T> {
    const root = base === 'chat' ? this.opts.chatUrl : this.opts.authUrl;
    const params = this.params(base, root, name, endpoint, extraTags);
    const url = `${root}${path}`;
    const res =
      method === 'GET'
        ? http.get(url, params)
        : http.post(url, body === undefined ? null : JSON.stringify(body), params);
    // each field of k6's response object is read once (every read is a lookup into a Go object)
    const durationMs = res.timings.duration;
    const status = res.status;
    // A successful answer the caller does not read is not decoded (JSON.parse of a page is tens of µs in k6).
    if (!ok(status)) return { ok: false, status, durationMs, error: errorText(res, parseJson(res.body)) };
    const text = res.body;
    if (!decode) return { ok: true, status, durationMs, text: typeof text === 'string' ? text : '' };
    return { ok: true, status, durationMs, data: parseJson(text) as T };
  }

  login(tenantId: string, email: string, password: string, tags: Record<string, string> = NO_TAGS): Call<LoginResult> {
    const r = this.request<Json>('POST', 'auth', '/api/v1/auth/login', '/api/v1/auth/login', 'login', { tenant_id: tenantId, email, password }, (s) => s === 200, tags);
    if (!r.ok) return { ...r, data: undefined };
    const d = r.data ?? {};
    if (typeof d.access_token !== 'string' || d.user_id === undefined) {
      return { ok: false, status: r.status, durationMs: r.durationMs, error: 'login answer without access_token/user_id' };
    }
    return { ...r, data: { token: d.access_token, userId: String(d.user_id), role: String(d.role ?? '') } };
  }

  createOrgUnit(name: string): Call<{ id: string }> {
    return this.idCall(this.request<Json>('POST', 'auth', '/api/v1/org-units', '/api/v1/org-units', 'org_units_create', { name }, (s) => s === 201 || s === 200));
  }

  createUser(u: { orgId: string; email: string; password: string; name: string; role?: 'admin' | 'manager' | 'user' }): Call<{ id: string }> {
    const body: Json = { org_id: u.orgId, email: u.email, password: u.password, name: u.name };
    if (u.role) body.role = u.role;
    return this.idCall(this.request<Json>('POST', 'auth', '/api/v1/users', '/api/v1/users', 'users_create', body, (s) => s === 201 || s === 200));
  }

  createRoom(name: string, memberIds: string[] = [], roomType: 'group' | 'direct' = 'group'): Call<{ id: string }> {
    return this.idCall(this.request<Json>('POST', 'chat', '/api/v1/rooms', '/api/v1/rooms', 'rooms_create', { name, room_type: roomType, member_ids: memberIds }, (s) => s === 201));
  }

  listRooms(limit = 50, cursor?: string, tags: Record<string, string> = NO_TAGS): Call<Page<{ id: string }>> {
    return this.request('GET', 'chat', `/api/v1/rooms${query(limit, cursor)}`, '/api/v1/rooms', 'rooms_list', undefined, (s) => s === 200, tags);
  }

  addMember(roomId: string, userId: string): Call<{ ok: boolean }> {
    return this.request('POST', 'chat', `/api/v1/rooms/${encodeURIComponent(roomId)}/members`, '/api/v1/rooms/:id/members', 'members_add', { user_id: userId }, (s) => s === 200);
  }

  /** The stored message is not decoded (`text` holds the answer): the load reads only the status. */
  postMessage(roomId: string, body: string): Call<StoredMessage> {
    return this.request('POST', 'chat', `/api/v1/rooms/${encodeURIComponent(roomId)}/messages`, '/api/v1/rooms/:id/messages', 'message_store', { body }, (s) => s === 201, NO_TAGS, false);
  }

  /** `decode: false`: the page's text in `text`, decoded later only if needed (decodePage). */
  listMessages(roomId: string, limit = 50, cursor?: string, decode = true): Call<Page<StoredMessage>> {
    return this.request('GET', 'chat', `/api/v1/rooms/${encodeURIComponent(roomId)}/messages${query(limit, cursor)}`, '/api/v1/rooms/:id/messages', 'message_list', undefined, (s) => s === 200, NO_TAGS, decode);
  }

  private idCall(r: Call<Json>): Call<{ id: string }> {
    if (!r.ok) return { ...r, data: undefined };
    const id = r.data?.id;
    if (id === undefined || id === null) return { ok: false, status: r.status, durationMs: r.durationMs, error: 'answer without id' };
    return { ...r, data: { id: String(id) } };
  }
}

/** Decodes a call's `text` into `data` (once), for a call made with `decode: false`. */
export function decodeCall<T>(c: Call<T>): Call<T> {
  if (c.ok && c.data === undefined && c.text !== undefined) {
    c.data = parseJson(c.text) as T;
    c.text = undefined;
  }
  return c;
}

function query(limit: number, cursor?: string): string {
  const q = [`limit=${limit}`];
  if (cursor) q.push(`cursor=${encodeURIComponent(cursor)}`);
  return `?${q.join('&')}`;
}
