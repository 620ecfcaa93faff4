/**
 * The bad-request storm, as data (issue 16): which requests it sends, in what order, how each answer is classed,
 * its k6 scenarios and the thresholds it adds. PURE (no k6, no Node): lib/storm.ts sends what `stormRequestAt`
 * says; the runner computes the same thresholds from Node.
 *
 * The storm sends, at a set rate, requests the contract says the server must refuse, while the valid traffic
 * runs: WS `message` frames without a body, messages to rooms the caller is not in, malformed JSON, user creation
 * with invalid fields, and room/message lists with a cursor the server never issued. Its requests are tagged
 * `traffic:storm` and carry no `phase` tag, so no threshold of the valid traffic (`traffic:load`, `phase:<p>`,
 * `endpoint:<e>`) ever counts them; the valid traffic is judged in the same windows, and per service
 * (`storm.<service>.error_rate`). Beside it, `witness` requests (valid, `traffic:load`) reach every service the
 * storm hits at a steady rate, so a service the load barely uses (orghub: a login every 100 REST iterations)
 * still shows when its dbman client has set every endpoint aside.
 */
import { k6Duration } from './duration.js';
import { LOAD_TRAFFIC, type ThresholdSpec } from './slo.js';

export const STORM_KINDS = ['ws_no_body', 'not_member', 'malformed_json', 'users_invalid', 'bad_cursor'] as const;
export type StormKind = (typeof STORM_KINDS)[number];

/** The services the storm's requests reach (and the witnesses watch). */
export const STORM_SERVICES = ['chat', 'orghub'] as const;
export type StormService = (typeof STORM_SERVICES)[number];

export interface StormConfig {
  /** Bad requests per second (all kinds together, taken in turn). */
  rate: number;
  /** Start, seconds after load start (default 0). */
  atS: number;
  /** Length in seconds; undefined: to the end of the load. */
  forS: number | undefined;
  kinds: StormKind[];
  /** Valid witness requests per second per stormed service (default 2). */
  witnessRate: number;
  /**
   * Copies of each bad HTTP request sent at once (default 1). The contract's client sets an endpoint aside after
   * `failThreshold` failures in a row and a success resets the count, so evenly spaced bad requests among a busy
   * service's valid ones rarely line up; `failThreshold` copies in flight at once (a retrying client, a crowd on one
   * broken form) do.
   */
  burst: number;
}

/** How an answer to a storm request is classed: `refused` (4xx or an error frame) is what the contract asks for. */
export type StormAnswer = 'refused' | 'server_error' | 'accepted' | 'none';

/** One request of the storm: its kind, the service it reaches, and what exactly to send (lib/storm.ts). */
export type StormRequest =
  | { kind: StormKind; service: StormService; via: 'ws_frame'; frame: string; room?: undefined }
  | { kind: StormKind; service: StormService; via: 'ws_open'; room: ForeignRoom; roomId: string }
  | { kind: StormKind; service: StormService; via: 'http'; method: 'GET' | 'POST'; path: string; name: string; body?: string | Record<string, unknown>; asAdmin?: boolean; room?: ForeignRoom };

/**
 * Which room a `not_member` request names: `existing`, a room setup made that the sender is not in (the check a
 * server can get wrong while it refuses rooms that do not exist), or `missing`, an id no room has.
 */
export type ForeignRoom = 'existing' | 'missing';

/** A room id the caller is not in: a well-formed UUID no room has, or text (the real dbman's uuid column refuses it). */
export const FOREIGN_ROOM_UUID = '00000000-0000-4000-8000-00000000dead';
export const FOREIGN_ROOM_TEXT = 'k6-storm-no-such-room';
/** A cursor no server issued. */
export const BOGUS_CURSOR = 'k6-storm-not-a-cursor';

/**
 * The n-th request of a storm (n counts every request of the run): kinds taken in turn, and each kind's variants
 * in turn, so wherever a server validates (app service or dbman), some variant of every kind reaches that place.
 * `own` is a room the caller is a member of; `tag` makes user e-mails unique; `foreign` an existing room the
 * not_member requests' sender is not in (setup's, when the run has a user besides the admin): without it they
 * name only rooms that do not exist.
 */
export function stormRequestAt(n: number, kinds: readonly StormKind[], own: string, tag: string, foreign?: string): StormRequest {
  const kind = kinds[n % kinds.length]!;
  const v = Math.floor(n / kinds.length);
  const ownPath = `/api/v1/rooms/${encodeURIComponent(own)}`;
  switch (kind) {
    case 'ws_no_body': {
      const frames = [
        { type: 'message', payload: { client_msg_id: `k6s-${tag}-${n}`, body: '', file_ids: [], emojis: [] } },
        { type: 'message', payload: { client_msg_id: `k6s-${tag}-${n}`, file_ids: [], emojis: [] } },
        { type: 'message', payload: { client_msg_id: `k6s-${tag}-${n}`, body: '   ' } },
      ];
      return { kind, service: 'chat', via: 'ws_frame', frame: JSON.stringify(frames[v % frames.length]) };
    }
    case 'not_member': {
      const post = (roomId: string, room: ForeignRoom): StormRequest => ({ kind, service: 'chat', via: 'http', method: 'POST', path: `/api/v1/rooms/${encodeURIComponent(roomId)}/messages`, name: '/api/v1/rooms/:id/messages', body: { body: 'k6-storm not a member' }, room });
      const open = (roomId: string, room: ForeignRoom): StormRequest => ({ kind, service: 'chat', via: 'ws_open', room, roomId });
      const missing = [post(FOREIGN_ROOM_UUID, 'missing'), open(FOREIGN_ROOM_UUID, 'missing'), post(FOREIGN_ROOM_TEXT, 'missing'), open(FOREIGN_ROOM_TEXT, 'missing')];
      // with an existing foreign room, every other not_member request names it (a post and a socket in turn)
      const variants = foreign === undefined ? missing : missing.flatMap((m, i) => [i % 2 === 0 ? post(foreign, 'existing') : open(foreign, 'existing'), m]);
      return variants[v % variants.length]!;
    }
    case 'malformed_json': {
      const variants: StormRequest[] = [
        { kind, service: 'chat', via: 'http', method: 'POST', path: `${ownPath}/messages`, name: '/api/v1/rooms/:id/messages', body: '{"body": "k6-storm' },
        { kind, service: 'chat', via: 'http', method: 'POST', path: '/api/v1/rooms', name: '/api/v1/rooms', body: '{"name": k6-storm}' },
        { kind, service: 'orghub', via: 'http', method: 'POST', path: '/api/v1/auth/login', name: '/api/v1/auth/login', body: '{"tenant_id": ' },
      ];
      return variants[v % variants.length]!;
    }
    case 'users_invalid': {
      const email = `k6-storm-${tag}-${n}@loadtest.invalid`.toLowerCase();
      const ok = { org_id: '00000000-0000-4000-8000-00000000beef', email, password: 'k6-storm-pass-1', name: `k6 storm ${n}` };
      const bodies: Record<string, unknown>[] = [
        ok, // an org unit that does not exist: only the database can tell
        { ...ok, email: 'not-an-email' },
        { ...ok, name: undefined },
        { ...ok, role: 'superuser' },
        { ...ok, org_id: '' },
      ];
      return { kind, service: 'orghub', via: 'http', method: 'POST', path: '/api/v1/users', name: '/api/v1/users', body: bodies[v % bodies.length]!, asAdmin: true };
    }
    case 'bad_cursor': {
      const variants: StormRequest[] = [
        { kind, service: 'chat', via: 'http', method: 'GET', path: `/api/v1/rooms?limit=10&cursor=${BOGUS_CURSOR}`, name: '/api/v1/rooms' },
        { kind, service: 'chat', via: 'http', method: 'GET', path: `${ownPath}/messages?limit=10&cursor=${BOGUS_CURSOR}`, name: '/api/v1/rooms/:id/messages' },
      ];
      return variants[v % variants.length]!;
    }
  }
}

/** An HTTP (or WS upgrade) status → the answer's class; 0 = no answer. */
export function classifyStatus(status: number): StormAnswer {
  if (status === 0) return 'none';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'refused';
  return 'accepted';
}

/** The storm's window [startS, endS) after load start, for a load of `loadS` seconds. */
export function stormWindow(s: StormConfig, loadS: number): [number, number] {
  const end = s.forS === undefined ? loadS : Math.min(loadS, s.atS + s.forS);
  return [s.atS, Math.max(s.atS + 1, end)];
}

/** The storm's two k6 scenarios: the bad requests and the witnesses, both at a constant arrival rate in its window. */
export function stormScenarios(s: StormConfig, loadS: number): Record<string, Record<string, unknown>> {
  const [start, end] = stormWindow(s, loadS);
  const common = { executor: 'constant-arrival-rate', timeUnit: '1s', startTime: k6Duration(start), duration: k6Duration(end - start), gracefulStop: '10s' };
  const stormVus = Math.max(2, Math.ceil(s.rate * 2));
  const witnesses = s.witnessRate * STORM_SERVICES.length;
  return {
    storm: { ...common, rate: Math.round(s.rate), preAllocatedVUs: stormVus, maxVUs: stormVus * 4, exec: 'stormRequest' },
    storm_witness: { ...common, rate: Math.round(witnesses), preAllocatedVUs: Math.max(2, witnesses), maxVUs: Math.max(4, witnesses * 8), exec: 'stormWitness' },
  };
}

/**
 * The thresholds a storm adds: per service, the valid traffic's error rate (the load's limit); and that the storm
 * was sent (answers of any class counted: a storm that never ran proves nothing).
 */
export function stormThresholds(errorRateMax: number): ThresholdSpec[] {
  const pct = `${Math.round(errorRateMax * 100000) / 1000} %`;
  const out: ThresholdSpec[] = STORM_SERVICES.map((svc) => ({
    id: `storm.${svc}.error_rate`,
    metric: 'http_req_failed',
    tags: { ...LOAD_TRAFFIC, service: svc },
    stat: 'rate',
    op: '<=',
    limit: errorRateMax,
    unit: 'ratio',
    abortOnFail: false,
    meaning: `valid ${svc} requests that failed while the bad-request storm ran, at most ${pct} (a service whose dbman client set every endpoint aside fails them all)`,
  }));
  out.push({ id: 'storm.sent', metric: 'storm_answers', tags: {}, stat: 'count', op: '>=', limit: 1, unit: 'count', abortOnFail: false, meaning: 'bad requests the storm sent (answered or not): at least one, or the storm proves nothing' });
  return out;
}

/** The tags of every storm request: never `traffic:load`, never `phase` (what the valid traffic's thresholds select). */
export function stormTags(r: Pick<StormRequest, 'kind' | 'service'>): Record<string, string> {
  return { traffic: 'storm', endpoint: 'storm', storm: r.kind, service: r.service };
}
