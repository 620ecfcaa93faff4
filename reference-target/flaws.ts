/**
 * Switchable flaws of the reference target, chosen with TARGET_FLAWS=a,b wherever the target is started.
 * They exist so the suite can prove that its checks fail when they should.
 */
import { z } from 'zod';

export const FLAW_NAMES = [
  /** The dbman client uses only its first endpoint. */
  'single-endpoint',
  /** The dbman client has no failure threshold and no cooldown: every request tries dead endpoints again. */
  'no-cooldown',
  /** For a share of message writes (TARGET_FLAW_DUPLICATE_SHARE, default 0.05) a dbman node commits, then answers 503. */
  'retry-duplicates',
  /** dbman's /health/ready (and /health) answer 200 at once, without asking PostgreSQL (so also when it does not answer). */
  'ready-lies',
  /** The dbman client uses the real system's defaults (5000 ms timeout, threshold 3, 10 s cooldown) whatever is configured. */
  'slow-failover',
  /** chat acknowledges every Nth message write (TARGET_FLAW_LOSE_EVERY, default 10) without storing it (201 / echo, nothing in the room). */
  'lose-messages',
  /** chat stores every Nth message of a room (TARGET_FLAW_DROP_FANOUT_EVERY, default 5) but sends it to its sender's socket only. */
  'drop-fanout',
  /**
   * dbman answers its validation errors (400: bad body, invalid cursor) with 500, as the real one does for some of
   * them; the app services' client counts those as node failures and, like the real client, fails a request at once
   * while every endpoint is in cooldown: a few bad requests take a whole service down for the cooldown.
   */
  'validation-500',
  /** orghub does not pass the password on to dbman's users/create, and dbman answers that with 500 (the real system's current version). */
  'users-create-500',
  /**
   * A dbman node that was frozen (its event loop stood still for over 1 s: a pause) answers /health/ready 200 but
   * fails every internal-API request with 500 for TARGET_FLAW_NOT_SERVING_MS (default 5000) after it resumes.
   */
  'ready-not-serving',
  /** Every dbman internal-API answer is delayed by TARGET_FLAW_SLOW_MS (default 50): a slower target for `compare`. */
  'slow-dbman',
  /**
   * dbman caps a message page at TARGET_FLAW_PAGE_CAP items (default 30) for any larger limit, as the real dbman
   * does above 200: chat asks limit+1, gets fewer, and answers a short page without next_cursor.
   */
  'short-pages',
  /**
   * dbman's membership check (`rooms/members/check`) asks only whether the room exists: every user of the tenant
   * may post to and open a socket on any room, while rooms that do not exist are still refused.
   */
  'membership-room-only',
  /** The message list shows a message only TARGET_FLAW_LIST_LAG_MS (default 3000) after it was stored. */
  'list-lag',
  /**
   * In rooms with at most TARGET_FLAW_SMALL_ROOM sockets on the instance (default 5), every Nth WS message of the
   * instance (TARGET_FLAW_SENDER_ONLY_EVERY, default 100: 1 %, the first at N/2) goes to its sender's socket only.
   */
  'sender-only-fanout',
  /**
   * Every Nth message of a room (TARGET_FLAW_REORDER_EVERY, default 5) reaches the room's other sockets
   * TARGET_FLAW_REORDER_DELAY_MS (default 300) late, while its sender gets the echo at once.
   */
  'reorder-fanout',
  /** Every Nth message of a room (TARGET_FLAW_DOUBLE_FANOUT_EVERY, default 7) is published to the room twice. */
  'double-fanout',
  /** chat ignores client_msg_id: a repeated key is stored again instead of refused with `duplicate client_msg_id`. */
  'ignore-client-msg-id',
  /**
   * chat writes each fan-out message to the room's sockets one after another under one lock per room, each write
   * waiting for the socket to take it or TARGET_FLAW_WRITE_DEADLINE_MS (default 5000) to pass (contract: the real
   * chat's fan-out path): one subscriber that stops reading delays the whole room.
   */
  'serial-fanout',
  /** chat's Redis subscriber connection does not subscribe again after it reconnects: fan-out stops for good after a Redis error. */
  'no-resubscribe',
  /** session answers a failed status update with 200 {"ok": false, "error"} instead of 400. */
  'status-ok-on-failure',
  /** tenanthub answers the tenants list as a page {"items": [...]} instead of the contract's array. */
  'tenants-page',
] as const;

export type FlawName = (typeof FLAW_NAMES)[number];
const FlawNameSchema = z.enum(FLAW_NAMES);

/** The app services a flaw can be scoped to with `flaw@service` (e.g. `single-endpoint@session`). */
export const FLAW_SERVICES = ['chat', 'orghub', 'session', 'tenanthub', 'dbman'] as const;
export type FlawService = (typeof FLAW_SERVICES)[number];

/** A flaw for every service (`single-endpoint`), or scoped to one (`single-endpoint@session`). */
export type Flaw = FlawName | `${FlawName}@${FlawService}`;

/**
 * The flaws that apply to one service, scope removed: every unscoped flaw plus those scoped to `service` (none
 * scoped when `service` is undefined). Every service reads the stack's one TARGET_FLAWS through this.
 */
export function flawsForService(flaws: readonly Flaw[], service: FlawService | undefined): FlawName[] {
  const out: FlawName[] = [];
  for (const f of flaws) {
    const [name, scope] = f.split('@') as [FlawName, FlawService | undefined];
    if ((scope === undefined || scope === service) && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Default share of message writes that `retry-duplicates` turns into commit-then-503. */
export const DEFAULT_DUPLICATE_SHARE = 0.05;

/**
 * Parses a TARGET_FLAWS value ("a,b", blanks ignored, duplicates removed; `name@service` scopes a flaw to one
 * service). Throws a one-line Error naming the setting and the allowed names for an unknown flaw or service.
 */
export function parseFlaws(raw: string | undefined): Flaw[] {
  if (raw === undefined || raw.trim() === '') return [];
  const out: Flaw[] = [];
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const [name, scope, ...rest] = entry.split('@');
    const parsed = FlawNameSchema.safeParse(name);
    if (!parsed.success) {
      throw new Error(`TARGET_FLAWS: unknown flaw "${name}" (allowed: ${FLAW_NAMES.join(', ')})`);
    }
    if (scope !== undefined && (rest.length > 0 || !(FLAW_SERVICES as readonly string[]).includes(scope))) {
      throw new Error(`TARGET_FLAWS: "${entry}": unknown service "${scope}" (allowed after @: ${FLAW_SERVICES.join(', ')})`);
    }
    const flaw = (scope === undefined ? parsed.data : `${parsed.data}@${scope}`) as Flaw;
    if (!out.includes(flaw)) out.push(flaw);
  }
  return out;
}

/** Parses TARGET_FLAW_DUPLICATE_SHARE: a number in [0, 1]; default 0.05. */
export function parseDuplicateShare(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_DUPLICATE_SHARE;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new Error(`TARGET_FLAW_DUPLICATE_SHARE: "${raw}" is not a number between 0 and 1`);
  }
  return n;
}

export const DEFAULT_LOSE_EVERY = 10;
/** ready-not-serving: how long a resumed node fails its internal API, ms. */
export const DEFAULT_NOT_SERVING_MS = 5000;
/** slow-dbman: the delay added to every internal-API answer, ms. */
export const DEFAULT_SLOW_MS = 50;
export const DEFAULT_DROP_FANOUT_EVERY = 5;
export const DEFAULT_PAGE_CAP = 30;
export const DEFAULT_LIST_LAG_MS = 3000;
export const DEFAULT_SENDER_ONLY_EVERY = 100;
export const DEFAULT_SMALL_ROOM = 5;
export const DEFAULT_REORDER_EVERY = 5;
export const DEFAULT_REORDER_DELAY_MS = 300;
export const DEFAULT_DOUBLE_FANOUT_EVERY = 7;

/** Parses a whole-number knob (TARGET_FLAW_LOSE_EVERY, TARGET_FLAW_PAGE_CAP, TARGET_FLAW_LIST_LAG_MS, ...): a whole number ≥ 1. */
export function parseEvery(name: string, raw: string | undefined, def: number): number {
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${name}: "${raw}" is not a whole number ≥ 1`);
  }
  return n;
}

/** Every Nth with an offset: true for the counts n ≡ offset (mod every), e.g. the 50th, 150th, ... of every 100. */
export function everyNth(count: number, every: number, offset = 0): boolean {
  return count % every === offset % every;
}
