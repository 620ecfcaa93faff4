/**
 * setup(): logs in once as the admin; logs in as the users the target file / USERS names, or else creates a small
 * pool of users (one org unit, users, one login each); creates the rooms the profile needs; and hands tokens to the
 * VUs through setup data. Every request is tagged phase:setup / traffic:setup, so none counts in the load's
 * thresholds. Tokens, e-mails and passwords are never printed; handleSummary strips them from setup data.
 *
 * Every failed call is recorded (lib/setup-failures.ts): fixture, call, status, error text, count. A fixture the run
 * can do without (org unit, users, their logins, given users) is a warning saying what the run does instead; one it
 * cannot (admin login, rooms, the shared hot room) makes setup return `ready: false` with the reason (setup never
 * throws: that would be a script error, not a verdict), and the first VU iteration then stops the test before any
 * load (lib/load.ts stopBeforeLoad); the runner reports it and exits 1.
 */
import { sleep } from 'k6';
import { randomBytes } from 'k6/crypto';
import type { SuiteConfig } from './config.js';
import { setupOk } from './metrics.js';
import type { Profile } from './profiles.js';
import { ChatApi, type Call } from './rest.js';
import { describeFailure, recordFailure, type SetupFailure } from './setup-failures.js';

export type { SetupFailure };

export interface Identity {
  token: string;
  userId: string;
}

/** Who the load runs as: users setup created, users the target file / USERS named, or the one admin login. */
export type UsersMode = 'created' | 'given' | 'admin';

export interface SetupData {
  ready: boolean;
  /** Why not ready (no secrets). */
  reason?: string;
  runId: string;
  /** Epoch ms at the end of setup: the zero of FAULT_WINDOWS and of the phase tags. */
  loadStartMs: number;
  admin?: Identity;
  /** Pool users (tokens); empty = everything runs as the admin. */
  users: Identity[];
  /** Who the VUs run as, and one line saying so. */
  usersMode: UsersMode;
  usersNote: string;
  /**
   * `foreign`: with a storm of not_member requests and a user besides the admin, a room only the admin is in (the
   * storm's existing room its sender is not a member of).
   */
  rooms: { rest: string[]; ws: string[]; hot?: string; hotShared?: boolean; msa?: string; foreign?: string };
  /** Counts for the summary (no secrets). */
  created: { users: number; rooms: number; failed: number };
  /** Failed setup calls, grouped by fixture, call, status and error text (no secrets). */
  failures: SetupFailure[];
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function makeRunId(): string {
  return `r${Date.now().toString(36)}${hex(randomBytes(2))}`;
}

/** The tag-free, token-free view of setup data written into reports. */
export function publicSetupData(d: unknown): Record<string, unknown> | undefined {
  if (!d || typeof d !== 'object') return undefined;
  const s = d as Partial<SetupData>;
  return {
    ready: s.ready,
    reason: s.reason,
    runId: s.runId,
    loadStartMs: s.loadStartMs,
    users: Array.isArray(s.users) ? s.users.length : 0,
    usersMode: s.usersMode,
    usersNote: s.usersNote,
    rooms: s.rooms,
    created: s.created,
    failures: Array.isArray(s.failures) ? s.failures : [],
  };
}

export function runSetup(cfg: SuiteConfig, profile: Profile, need: { rest: boolean; ws: boolean; hotRoom: boolean; msa?: boolean }, note?: string): SetupData {
  const runId = cfg.runId ?? makeRunId();
  const api = new ChatApi({ chatUrl: cfg.chatUrl, authUrl: cfg.authUrl, timeoutS: 15, phase: () => 'setup' });
  const data: SetupData = {
    ready: false,
    runId,
    loadStartMs: 0,
    users: [],
    usersMode: 'admin',
    usersNote: 'every VU runs as the admin login',
    rooms: { rest: [], ws: [] },
    created: { users: 0, rooms: 0, failed: 0 },
    failures: [],
  };
  const fail = (fixture: string, call: string, r: Call<unknown>, required: boolean, instead?: string) => {
    data.created.failed += 1;
    recordFailure(data.failures, { fixture, call, status: r.status, error: r.error ?? `status ${r.status}`, required, ...(instead ? { instead } : {}) });
  };
  if (note) console.warn(`suite: ${note}`);
  const done = (reason?: string): SetupData => {
    data.ready = reason === undefined;
    if (reason !== undefined) data.reason = reason;
    setupOk.add(data.ready);
    for (const f of data.failures) console.warn(`suite: setup: ${describeFailure(f)}`);
    data.loadStartMs = Date.now();
    console.log(
      `suite: run_id=${runId} profile=${profile.name} ready=${data.ready}${reason ? ` reason="${reason}"` : ''} users=${data.users.length} users_mode=${data.usersMode} rooms=${data.created.rooms} load_start_ms=${data.loadStartMs}`,
    );
    return data;
  };

  // 1. Admin login (required): 3 attempts, bounded.
  let admin: Identity | undefined;
  let last: Call<unknown> | undefined;
  for (let attempt = 0; attempt < 3 && !admin; attempt++) {
    if (attempt > 0) sleep(1);
    const r = api.login(cfg.tenantId, cfg.loginEmail, cfg.loginPassword);
    if (r.ok && r.data) admin = { token: r.data.token, userId: r.data.userId };
    else last = r;
  }
  if (!admin) {
    fail('admin login', 'POST /api/v1/auth/login', last!, true);
    return done(`admin login failed: ${last!.error ?? `status ${last!.status}`}`);
  }
  data.admin = admin;
  const asAdmin = api.as(admin.token);

  // 2. Who the load runs as: the given users, a pool setup creates, or the admin alone.
  if (cfg.users.length > 0) loginGivenUsers(api, cfg, data, fail);
  else if (profile.userPool > 0) createUserPool(api, asAdmin, cfg, profile.userPool, runId, data, fail);
  const members = data.users.map((u) => u.userId).filter((id) => id !== admin.userId);

  // 3. Rooms (required), every pool user a member.
  const makeRooms = (kind: string, n: number): string[] => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = asAdmin.createRoom(`k6 ${runId} ${kind} ${i}`, members);
      if (r.ok && r.data) ids.push(r.data.id);
      else fail(`${kind} rooms`, 'POST /api/v1/rooms', r, true);
    }
    data.created.rooms += ids.length;
    return ids;
  };
  if (need.rest) data.rooms.rest = makeRooms('rest', profile.restRooms);
  if (need.ws) data.rooms.ws = makeRooms('ws', profile.wsRooms);
  if (need.hotRoom && cfg.hotRoom !== undefined) {
    // A split run's one hot room (HOT_ROOM, made by `npm run load -- prepare` as this admin): this part's pool
    // users join it, so its subscribers get every part's messages, as in an unsplit run.
    let failed = 0;
    for (const userId of members) {
      const r = asAdmin.addMember(cfg.hotRoom, userId);
      if (!r.ok) {
        failed += 1;
        fail('shared hot room', 'POST /api/v1/rooms/:id/members', r, true);
      }
    }
    if (failed === 0) {
      data.rooms.hot = cfg.hotRoom;
      data.rooms.hotShared = true;
    }
  } else if (need.hotRoom) {
    const hot = makeRooms('hot', 1);
    if (hot[0] !== undefined) data.rooms.hot = hot[0];
  }
  // the msa part: the owners' script posts as the one login (the admin) into one room of its own
  if (need.msa) data.rooms.msa = makeRooms('msa', 1)[0];
  if (cfg.storm?.kinds.includes('not_member') && members.length > 0) foreignRoom(asAdmin, runId, data, fail);
  if ((need.rest && data.rooms.rest.length === 0) || (need.ws && data.rooms.ws.length === 0) || (need.hotRoom && !data.rooms.hot) || (need.msa && !data.rooms.msa)) {
    return done(need.hotRoom && cfg.hotRoom !== undefined && !data.rooms.hot ? `joining the shared hot room ${cfg.hotRoom} failed` : 'creating rooms failed');
  }
  return done();
}

/** The storm's foreign room: made by the admin with no other member (optional: else only missing rooms are named). */
function foreignRoom(asAdmin: ChatApi, runId: string, data: SetupData, fail: FailFn): void {
  const r = asAdmin.createRoom(`k6 ${runId} storm foreign`, []);
  if (r.ok && r.data) {
    data.rooms.foreign = r.data.id;
    data.created.rooms += 1;
  } else fail('storm foreign room', 'POST /api/v1/rooms', r, false, "the storm's not_member requests name only rooms that do not exist");
}

type FailFn = (fixture: string, call: string, r: Call<unknown>, required: boolean, instead?: string) => void;

/** USERS / the target file's `users`: log in as each (optional: the ones that fail are left out, or the admin runs alone). */
function loginGivenUsers(api: ChatApi, cfg: SuiteConfig, data: SetupData, fail: FailFn): void {
  const results = cfg.users.map((u) => api.login(cfg.tenantId, u.email, u.password));
  const ok = results.filter((r) => r.ok && r.data).length;
  const instead = ok > 0 ? `running as the ${ok} given users that logged in` : 'running every VU as the admin login';
  for (const r of results) {
    if (r.ok && r.data) data.users.push({ token: r.data.token, userId: r.data.userId });
    else fail('given users', 'POST /api/v1/auth/login', r, false, instead);
  }
  data.usersMode = data.users.length > 0 ? 'given' : 'admin';
  data.usersNote =
    data.users.length > 0
      ? `VUs spread over ${data.users.length} of ${cfg.users.length} given users (no users created)`
      : `none of the ${cfg.users.length} given users could log in: every VU runs as the admin login`;
}

/** The user pool: one org unit, N users, one login each (optional: without them every VU runs as the admin). */
function createUserPool(api: ChatApi, asAdmin: ChatApi, cfg: SuiteConfig, n: number, runId: string, data: SetupData, fail: FailFn): void {
  // A random tag per setup: several k6 processes of one run (execution segments) share RUN_ID, not users.
  const tag = `${runId}-${hex(randomBytes(3))}`;
  const ou = asAdmin.createOrgUnit(`k6-${tag}`);
  if (!ou.ok || !ou.data) {
    fail('org unit', 'POST /api/v1/org-units', ou, false, 'no users created: every VU runs as the admin login');
    data.usersNote = 'creating the org unit failed: every VU runs as the admin login';
    return;
  }
  const password = hex(randomBytes(12));
  for (let i = 0; i < n; i++) {
    const email = `k6-${tag}-${i}@loadtest.invalid`.toLowerCase();
    const u = asAdmin.createUser({ orgId: ou.data.id, email, password, name: `k6 ${tag} ${i}`, role: 'user' });
    if (!u.ok) {
      fail('users', 'POST /api/v1/users', u, false, 'the run goes on with the users that were created, or as the admin login alone');
      continue;
    }
    data.created.users += 1;
    const l = api.login(cfg.tenantId, email, password);
    if (l.ok && l.data) data.users.push({ token: l.data.token, userId: l.data.userId });
    else fail('user logins', 'POST /api/v1/auth/login', l, false, 'that user is left out of the run');
  }
  data.usersMode = data.users.length > 0 ? 'created' : 'admin';
  data.usersNote =
    data.users.length > 0
      ? `VUs spread over ${data.users.length} users created by setup${data.users.length < n ? ` (${n - data.users.length} of ${n} failed)` : ''}`
      : `creating ${n} users failed: every VU runs as the admin login`;
}
