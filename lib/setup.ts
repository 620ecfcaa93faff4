/**
 * setup(): logs in once as the admin, creates a small pool of users (one org unit, users, one login each) and the
 * rooms the profile needs, and hands tokens to the VUs through setup data. Tokens and passwords are never printed;
 * handleSummary strips them from setup data before writing the summary.
 *
 * A target that is down does not make setup throw (that would end k6 with a script error, not a verdict): setup
 * returns `ready: false` with a reason, and every iteration then records failed stores, so the thresholds break.
 */
import { sleep } from 'k6';
import { randomBytes } from 'k6/crypto';
import type { SuiteConfig } from './config.js';
import { setupOk } from './metrics.js';
import type { Profile } from './profiles.js';
import { ChatApi } from './rest.js';

export interface Identity {
  token: string;
  userId: string;
}

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
  rooms: { rest: string[]; ws: string[]; hot?: string; hotShared?: boolean; msa?: string };
  /** Counts for the summary (no secrets). */
  created: { users: number; rooms: number; failed: number };
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
    rooms: s.rooms,
    created: s.created,
  };
}

export function runSetup(cfg: SuiteConfig, profile: Profile, need: { rest: boolean; ws: boolean; hotRoom: boolean; msa?: boolean }, note?: string): SetupData {
  const runId = cfg.runId ?? makeRunId();
  const api = new ChatApi({ chatUrl: cfg.chatUrl, authUrl: cfg.authUrl, timeoutS: 15, phase: () => 'setup' });
  const data: SetupData = { ready: false, runId, loadStartMs: 0, users: [], rooms: { rest: [], ws: [] }, created: { users: 0, rooms: 0, failed: 0 } };
  if (note) console.warn(`suite: ${note}`);
  const done = (reason?: string): SetupData => {
    data.ready = reason === undefined;
    if (reason !== undefined) data.reason = reason;
    setupOk.add(data.ready);
    data.loadStartMs = Date.now();
    console.log(
      `suite: run_id=${runId} profile=${profile.name} ready=${data.ready}${reason ? ` reason="${reason}"` : ''} users=${data.users.length} rooms=${data.created.rooms} load_start_ms=${data.loadStartMs}`,
    );
    return data;
  };

  // 1. Admin login: 3 attempts, bounded.
  let admin: Identity | undefined;
  let lastError = '';
  for (let attempt = 0; attempt < 3 && !admin; attempt++) {
    if (attempt > 0) sleep(1);
    const r = api.login(cfg.tenantId, cfg.loginEmail, cfg.loginPassword);
    if (r.ok && r.data) admin = { token: r.data.token, userId: r.data.userId };
    else lastError = r.error ?? `status ${r.status}`;
  }
  if (!admin) return done(`admin login failed: ${lastError}`);
  data.admin = admin;
  const asAdmin = api.as(admin.token);

  // 2. User pool: one org unit, N users, one login each (bcrypt: ~100 ms per login on the reference target).
  if (profile.userPool > 0) {
    // A random tag per setup: several k6 processes of one run (execution segments) share RUN_ID, not users.
    const tag = `${runId}-${hex(randomBytes(3))}`;
    const ou = asAdmin.createOrgUnit(`k6-${tag}`);
    if (!ou.ok || !ou.data) {
      data.created.failed += 1;
      console.warn(`suite: creating the org unit failed (${ou.error}); running every socket and post as the admin`);
    } else {
      const password = hex(randomBytes(12));
      for (let i = 0; i < profile.userPool; i++) {
        const email = `k6-${tag}-${i}@loadtest.invalid`.toLowerCase();
        const u = asAdmin.createUser({ orgId: ou.data.id, email, password, name: `k6 ${tag} ${i}`, role: 'user' });
        if (!u.ok) {
          data.created.failed += 1;
          continue;
        }
        data.created.users += 1;
        const l = api.login(cfg.tenantId, email, password);
        if (l.ok && l.data) data.users.push({ token: l.data.token, userId: l.data.userId });
        else data.created.failed += 1;
      }
      if (data.created.failed > 0) console.warn(`suite: ${data.created.failed} pool user(s) could not be created or logged in`);
    }
  }
  const members = data.users.map((u) => u.userId);

  // 3. Rooms, every pool user a member.
  const makeRooms = (kind: string, n: number): string[] => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = asAdmin.createRoom(`k6 ${runId} ${kind} ${i}`, members);
      if (r.ok && r.data) ids.push(r.data.id);
      else data.created.failed += 1;
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
      if (userId !== admin.userId && !asAdmin.addMember(cfg.hotRoom, userId).ok) failed += 1;
    }
    data.created.failed += failed;
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
  if ((need.rest && data.rooms.rest.length === 0) || (need.ws && data.rooms.ws.length === 0) || (need.hotRoom && !data.rooms.hot) || (need.msa && !data.rooms.msa)) {
    return done(need.hotRoom && cfg.hotRoom !== undefined && !data.rooms.hot ? `joining the shared hot room ${cfg.hotRoom} failed` : 'creating rooms failed');
  }
  return done();
}
