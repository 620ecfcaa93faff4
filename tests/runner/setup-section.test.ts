// Setup apart from the load, pure (< 1 s): USERS parsing (never echoed), the failure records setup() keeps, and the
// setup section the runner reads from k6's setup data and prints.
import { describe, expect, it } from 'vitest';
import { parseUsers } from '../../lib/config.js';
import { describeFailure, recordFailure, type SetupFailure } from '../../lib/setup-failures.js';
import { formatSetup, setupSectionOf, setupStopError } from '../../runner/setup-section.js';

describe('USERS', () => {
  it('a JSON array of {email, password}; [] when unset', () => {
    expect(parseUsers(undefined)).toEqual([]);
    expect(parseUsers('[{"email":"a@b","password":"pw"}]')).toEqual([{ email: 'a@b', password: 'pw' }]);
  });
  it('a bad value names USERS and never echoes it', () => {
    for (const bad of ['[{"email":"a@b"}]', 'not json', '{"email":"a","password":"secret-pw"}']) {
      expect(() => parseUsers(bad)).toThrow(/^USERS: a JSON array of \{"email", "password"\} objects .*got \(hidden\)$/);
    }
  });
});

describe('setup failures', () => {
  it('groups by fixture, call, status and error text, and says what the run does instead', () => {
    const list: SetupFailure[] = [];
    const f = { fixture: 'users', call: 'POST /api/v1/users', status: 500, error: 'status 500: database error', required: false, instead: 'every VU runs as the admin login' };
    recordFailure(list, f);
    recordFailure(list, f);
    recordFailure(list, { ...f, status: 503, error: 'status 503: database unavailable' });
    expect(list.map((x) => [x.status, x.count])).toEqual([[500, 2], [503, 1]]);
    expect(describeFailure(list[0]!)).toBe('users: POST /api/v1/users → 500 "status 500: database error" ×2 (every VU runs as the admin login)');
  });

  it('the runner section: warnings for fixtures the run can do without, a stop for a required one', () => {
    const data = {
      ready: true,
      users: 0,
      usersMode: 'admin',
      usersNote: 'creating 4 users failed: every VU runs as the admin login',
      created: { users: 0, rooms: 5, failed: 4 },
      failures: [{ fixture: 'users', call: 'POST /api/v1/users', status: 503, error: 'status 503: database unavailable', count: 4, required: false, instead: 'as the admin' }],
    };
    const s = setupSectionOf(data)!;
    expect(setupStopError(s)).toBeUndefined();
    expect(formatSetup(s).split('\n')).toEqual([
      'setup: ready; 5 rooms; creating 4 users failed: every VU runs as the admin login',
      '  setup warning (users): 4 × POST /api/v1/users → 503 "status 503: database unavailable": as the admin',
      "  (setup requests are tagged phase:setup and do not count in the load's thresholds)",
    ]);
    const stopped = setupSectionOf({ ...data, ready: false, reason: 'creating rooms failed', failures: [{ fixture: 'rest rooms', call: 'POST /api/v1/rooms', status: 0, error: 'no response: timeout', count: 2, required: true }] })!;
    expect(setupStopError(stopped)).toBe('setup failed, the load was not started: creating rooms failed');
    expect(formatSetup(stopped)).toMatch(/^ {2}setup FAILED \(rest rooms, required\): 2 × POST \/api\/v1\/rooms → no response "no response: timeout": the load was not started$/m);
    expect(setupSectionOf(undefined)).toBeUndefined();
  });
});
