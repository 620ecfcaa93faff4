// The bad-request storm as data (lib/storm-plan.ts), its STORM setting (lib/config.ts), its thresholds (lib/plan.ts)
// and its answers section (runner/storm-section.ts). Pure, < 1 s.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseStorm } from '../../lib/config.js';
import { planFor } from '../../lib/plan.js';
import { classifyStatus, STORM_KINDS, stormRequestAt, stormScenarios, stormTags, stormWindow, type StormKind } from '../../lib/storm-plan.js';
import { formatStorm, stormSectionOf } from '../../runner/storm-section.js';

const ENV = { CHAT_URL: 'http://127.0.0.1:1', AUTH_URL: 'http://127.0.0.1:2', WS_URL: 'ws://127.0.0.1:1/ws', TENANT_ID: 't', LOGIN_EMAIL: 'a@b', LOGIN_PASSWORD: 'p' };

/** Whether a k6 submetric filter selects a sample with these tags. */
const selects = (filter: Record<string, string>, tags: Record<string, string>) => Object.entries(filter).every(([k, v]) => tags[k] === v);

describe('storm requests', () => {
  it('takes the kinds in turn and each kind’s variants in turn; every request is one the contract refuses', () => {
    const kinds = [...STORM_KINDS];
    const first = kinds.map((_, n) => stormRequestAt(n, kinds, 'room-1', 'run').kind);
    expect(first).toEqual(kinds);
    // users_invalid: 5 variants, the first an org unit that does not exist (only the database can tell)
    const users = [0, 1, 2, 3, 4].map((v) => stormRequestAt(3 + v * kinds.length, kinds, 'room-1', 'run'));
    expect(users.map((u) => u.via === 'http' && (u.body as Record<string, unknown>))).toEqual([
      expect.objectContaining({ org_id: '00000000-0000-4000-8000-00000000beef', email: 'k6-storm-run-3@loadtest.invalid' }),
      expect.objectContaining({ email: 'not-an-email' }),
      expect.not.objectContaining({ name: expect.anything() }),
      expect.objectContaining({ role: 'superuser' }),
      expect.objectContaining({ org_id: '' }),
    ]);
    for (const u of users) expect(u).toMatchObject({ service: 'orghub', method: 'POST', path: '/api/v1/users', asAdmin: true });
    // ws_no_body: message frames as the contract writes them, with an empty, missing or blank body
    const frames = [0, 1, 2].map((v) => stormRequestAt(v * kinds.length, kinds, 'room-1', 'run'));
    for (const f of frames) {
      expect(f.via).toBe('ws_frame');
      const frame = JSON.parse((f as { frame: string }).frame) as { type: string; payload: { body?: string; client_msg_id: string } };
      expect(frame.type).toBe('message');
      expect(frame.payload.client_msg_id).toMatch(/^k6s-run-\d+$/);
      expect((frame.payload.body ?? '').trim()).toBe('');
    }
    // malformed JSON really is not JSON
    for (const v of [0, 1, 2]) {
      const m = stormRequestAt(2 + v * kinds.length, kinds, 'room-1', 'run') as { body: string };
      expect(() => JSON.parse(m.body)).toThrow();
    }
    // a chosen subset of kinds is all that is sent
    const only: StormKind[] = ['bad_cursor'];
    expect([0, 1, 2, 3].map((n) => stormRequestAt(n, only, 'r', 't').kind)).toEqual(['bad_cursor', 'bad_cursor', 'bad_cursor', 'bad_cursor']);
  });

  it('not_member: with a foreign room, every other request names it (a post and a socket in turn), the rest rooms that do not exist', () => {
    const kinds: StormKind[] = ['not_member'];
    const rooms = (foreign?: string) => [0, 1, 2, 3, 4, 5, 6, 7].map((n) => stormRequestAt(n, kinds, 'own', 'run', foreign));
    const withForeign = rooms('room-f');
    expect(withForeign.map((r) => `${r.via}:${r.room}`)).toEqual(['http:existing', 'http:missing', 'ws_open:existing', 'ws_open:missing', 'http:existing', 'http:missing', 'ws_open:existing', 'ws_open:missing']);
    expect(withForeign[0]).toMatchObject({ path: '/api/v1/rooms/room-f/messages', name: '/api/v1/rooms/:id/messages' });
    expect(withForeign[2]).toMatchObject({ roomId: 'room-f' });
    // without one (one identity): only rooms that do not exist, as before
    const without = rooms();
    expect(without.every((r) => r.room === 'missing')).toBe(true);
    expect(without.map((r) => (r.via === 'http' ? r.path : r.via === 'ws_open' ? r.roomId : ''))).toEqual([
      '/api/v1/rooms/00000000-0000-4000-8000-00000000dead/messages',
      '00000000-0000-4000-8000-00000000dead',
      '/api/v1/rooms/k6-storm-no-such-room/messages',
      'k6-storm-no-such-room',
      '/api/v1/rooms/00000000-0000-4000-8000-00000000dead/messages',
      '00000000-0000-4000-8000-00000000dead',
      '/api/v1/rooms/k6-storm-no-such-room/messages',
      'k6-storm-no-such-room',
    ]);
  });

  it('classes answers: 4xx refused, 5xx server_error, 2xx accepted, no answer none', () => {
    expect([400, 403, 499, 500, 503, 200, 201, 101, 0].map(classifyStatus)).toEqual(['refused', 'refused', 'refused', 'server_error', 'server_error', 'accepted', 'accepted', 'accepted', 'none']);
  });

  it('no threshold of the valid traffic selects a storm request', () => {
    const cfg = parseConfig({ ...ENV, SESSION_URL: 'http://127.0.0.1:3', TENANTHUB_URL: 'http://127.0.0.1:4', PROFILE: 'failover', FAULT_WINDOWS: '[[5,25]]', STORM: '{"rate":20}' }, 'failover');
    const { specs } = planFor(cfg, { rest: true, ws: true, hotRoom: true, msa: true });
    expect(specs.some((s) => s.id.startsWith('msa.'))).toBe(true);
    const http = specs.filter((s) => s.metric === 'http_req_failed' || s.metric === 'http_req_duration');
    expect(http.length).toBeGreaterThan(5);
    for (const kind of STORM_KINDS) {
      for (const service of ['chat', 'orghub'] as const) {
        const tags = { ...stormTags({ kind, service }), scenario: 'storm', name: 'x', method: 'POST', status: '400' };
        for (const s of http) expect(selects(s.tags, tags), `${s.id} selects storm ${kind}`).toBe(false);
      }
    }
    // and the storm adds the per-service judgement of the valid traffic and its own evidence
    expect(specs.filter((s) => s.id.startsWith('storm.')).map((s) => `${s.id} ${JSON.stringify(s.tags)} ${s.op}${s.limit}`)).toEqual([
      'storm.chat.error_rate {"traffic":"load","service":"chat"} <=0.02',
      'storm.orghub.error_rate {"traffic":"load","service":"orghub"} <=0.02',
      'storm.sent {} >=1',
    ]);
    // without STORM there are none
    expect(planFor(parseConfig(ENV), { rest: true, ws: true, hotRoom: true }).specs.some((s) => s.id.startsWith('storm.'))).toBe(false);
  });

  it('schedules the storm and its witnesses in its window, the whole load by default', () => {
    const s = parseStorm('{"rate":20,"at":5,"for":20}')!;
    expect(stormWindow(s, 60)).toEqual([5, 25]);
    expect(stormWindow(parseStorm('{"rate":3}')!, 20)).toEqual([0, 20]);
    const sc = stormScenarios(s, 60);
    expect(sc.storm).toMatchObject({ executor: 'constant-arrival-rate', rate: 20, startTime: '5s', duration: '20s', exec: 'stormRequest' });
    expect(sc.storm_witness).toMatchObject({ rate: 4, startTime: '5s', duration: '20s', exec: 'stormWitness' });
  });
});

describe('STORM', () => {
  it('parses the defaults and refuses bad values naming the variable', () => {
    expect(parseStorm(undefined)).toBeUndefined();
    expect(parseStorm('{"rate":2.5}')).toEqual({ rate: 2.5, atS: 0, forS: undefined, kinds: [...STORM_KINDS], witnessRate: 2, burst: 1 });
    for (const bad of ['{"rate":0}', '{"rate":10,"kinds":["melt"]}', '{"rate":10,"burst":0}', 'storm', '{"rate":10,"extra":1}']) {
      expect(() => parseStorm(bad)).toThrow(ConfigError);
      expect(() => parseStorm(bad)).toThrow(/^STORM: a JSON object \{"rate"/);
    }
  });
});

describe('storm section', () => {
  it('counts answers per kind and prints them; nothing sent, no section', () => {
    expect(stormSectionOf([])).toBeUndefined();
    const s = stormSectionOf([
      { kind: 'bad_cursor', answer: 'server_error' },
      { kind: 'bad_cursor', answer: 'refused' },
      { kind: 'ws_no_body', answer: 'none' },
    ])!;
    expect(s.total).toEqual({ sent: 3, refused: 1, server_error: 1, accepted: 0, none: 1 });
    expect(s.byKind.bad_cursor).toEqual({ sent: 2, refused: 1, server_error: 1, accepted: 0, none: 0 });
    expect(formatStorm(s)[0]).toBe("storm: 3 sent: 1 refused (4xx / error frame, as expected), 1 answered 5xx, 0 accepted, 1 unanswered (not counted in the valid traffic's thresholds)");
    expect(s.notMemberByRoom).toBeUndefined();
  });

  it('counts not_member answers by the room they named, and says when no existing room was named', () => {
    const s = stormSectionOf([
      { kind: 'not_member', answer: 'accepted', room: 'existing' },
      { kind: 'not_member', answer: 'refused', room: 'missing' },
      { kind: 'not_member', answer: 'refused' },
    ])!;
    expect(s.notMemberByRoom).toEqual({ existing: { sent: 1, refused: 0, server_error: 0, accepted: 1, none: 0 }, missing: { sent: 2, refused: 2, server_error: 0, accepted: 0, none: 0 } });
    expect(formatStorm(s).slice(1)).toEqual([
      '  storm not_member: 3 sent: 2 refused (4xx / error frame, as expected), 0 answered 5xx, 1 accepted, 0 unanswered',
      '    to an existing room the sender is not in: 1 sent: 0 refused (4xx / error frame, as expected), 0 answered 5xx, 1 accepted, 0 unanswered',
      '    to rooms that do not exist: 2 sent: 2 refused (4xx / error frame, as expected), 0 answered 5xx, 0 accepted, 0 unanswered',
    ]);
    const onlyMissing = formatStorm(stormSectionOf([{ kind: 'not_member', answer: 'refused', room: 'missing' }]));
    expect(onlyMissing[2]).toMatch(/^ {4}only rooms that do not exist were named .*a server that lets any user into an existing room passes this$/);
  });
});
