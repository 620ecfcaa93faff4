/**
 * The bad-request storm's VU functions (what to send: lib/storm-plan.ts). `stormRequest` sends one request the
 * server must refuse and counts its answer in `storm_answers` (kind, answer class, phase); `stormWitness` sends
 * one valid request to a service the storm hits (chat: list the caller's rooms; orghub: a login), tagged as load,
 * so a service taken down by the storm shows in its valid traffic. Storm requests are tagged `traffic:storm` and
 * carry no `phase` tag: no threshold of the valid traffic counts them. Every call is bounded in time.
 */
import exec from 'k6/execution';
import http from 'k6/http';
import ws from 'k6/ws';
import { stormAnswers } from './metrics.js';
import { phaseClock } from './phase.js';
import type { Profile } from './profiles.js';
import type { SuiteConfig } from './config.js';
import { ChatApi } from './rest.js';
import { pick } from './rest-plan.js';
import type { SetupData } from './setup.js';
import { classifyStatus, stormRequestAt, stormTags, type StormAnswer, type StormRequest } from './storm-plan.js';

interface Ctx {
  cfg: SuiteConfig;
  profile: Profile;
}

const TIMEOUT_S = 10;
/** How long a socket waits for the error frame its bad frame must get. */
const FRAME_WAIT_MS = 3000;
/** 4xx is the expected answer: k6's http_req_failed should not count it (the thresholds exclude storm traffic anyway). */
const REFUSALS_EXPECTED = http.expectedStatuses({ min: 400, max: 499 });

/** One bad HTTP request, `copies` at once (http.batch): the answer class of each. */
function sendHttp(ctx: Ctx, r: Extract<StormRequest, { via: 'http' }>, token: string, copies: number): StormAnswer[] {
  const root = r.service === 'orghub' ? ctx.cfg.authUrl : ctx.cfg.chatUrl;
  const params = {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    timeout: `${TIMEOUT_S}s`,
    tags: { ...stormTags(r), name: `${root}${r.name}` },
    responseCallback: REFUSALS_EXPECTED,
  };
  const url = `${root}${r.path}`;
  const body = r.body === undefined ? null : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const reqs = Array.from({ length: copies }, () => ({ method: r.method, url, body, params }));
  return http.batch(reqs).map((res) => classifyStatus(res.status));
}

/** A room socket: opened to a foreign room (the upgrade must be refused), or to the caller's room to send a bad frame. */
function sendWs(ctx: Ctx, r: Extract<StormRequest, { via: 'ws_frame' | 'ws_open' }>, token: string, ownRoom: string): StormAnswer {
  const room = r.via === 'ws_open' ? r.roomId : ownRoom;
  const sep = ctx.cfg.wsUrl.includes('?') ? '&' : '?';
  const url = `${ctx.cfg.wsUrl}${sep}room_id=${encodeURIComponent(room)}`;
  let answer: StormAnswer = 'none';
  const res = ws.connect(url, { headers: { Authorization: `Bearer ${token}` }, tags: { ...stormTags(r), name: `${ctx.cfg.wsUrl}?room_id=:id` } }, (socket) => {
    socket.on('open', () => {
      if (r.via === 'ws_open') {
        answer = 'accepted'; // a foreign room's socket opened
        socket.close();
        return;
      }
      socket.send(r.frame);
      socket.setTimeout(() => socket.close(), FRAME_WAIT_MS);
    });
    socket.on('message', (raw) => {
      let f: { type?: unknown } | undefined;
      try {
        f = JSON.parse(String(raw)) as { type?: unknown };
      } catch {
        return;
      }
      if (f?.type === 'error') {
        answer = 'refused';
        socket.close();
      }
    });
  });
  // an upgrade that was answered but not switched: its status classes the answer
  if (res && res.status !== 101) return classifyStatus(res.status);
  return answer;
}

/** One bad request of the storm: the n-th of the run (kinds and variants in turn), its answer counted. */
export function stormRequest(ctx: Ctx, data: SetupData): void {
  if (!data.ready || !data.admin) return;
  const phase = phaseClock(data.loadStartMs, ctx.cfg.faultWindows);
  const n = exec.scenario.iterationInTest;
  const ownRoom = pick(data.rooms.rest.length ? data.rooms.rest : data.rooms.ws, n) ?? '';
  const r = stormRequestAt(n, ctx.cfg.storm!.kinds, ownRoom, data.runId, data.rooms.foreign);
  // a room the sender is not in: setup's foreign room has only the admin in it, so its requests go as another user
  const outsiders = data.users.filter((u) => u.userId !== data.admin!.userId);
  const senders = r.room === 'existing' ? outsiders : data.users.length ? data.users : [data.admin];
  const who = pick(senders, n);
  if (!who) return;
  const sentAt = Date.now();
  const token = r.via === 'http' && r.asAdmin ? data.admin.token : who.token;
  const answers = r.via === 'http' ? sendHttp(ctx, r, token, ctx.cfg.storm!.burst) : [sendWs(ctx, r, token, ownRoom)];
  const tags: Record<string, string> = { kind: r.kind, service: r.service, phase: phase(sentAt) };
  if (r.room) tags.room = r.room;
  for (const answer of answers) stormAnswers.add(1, { ...tags, answer });
}

/** One valid request to a service the storm hits, in turn: chat (the caller's rooms), orghub (a login). */
export function stormWitness(ctx: Ctx, data: SetupData): void {
  if (!data.ready || !data.admin) return;
  const phase = phaseClock(data.loadStartMs, ctx.cfg.faultWindows);
  const n = exec.scenario.iterationInTest;
  const api = new ChatApi({ chatUrl: ctx.cfg.chatUrl, authUrl: ctx.cfg.authUrl, timeoutS: TIMEOUT_S, phase }, data.admin.token);
  if (n % 2 === 0) api.listRooms(1, undefined, { witness: 'storm' });
  else api.login(ctx.cfg.tenantId, ctx.cfg.loginEmail, ctx.cfg.loginPassword, { witness: 'storm' });
}
