// The suite's REST iteration written by hand with k6 defaults, as an SRE would write it without the suite: the same
// requests in the same order as scenarios/rest.ts (lib/load.ts restIteration, lib/rest-plan.ts restActions) and
// nothing else: no tags, checks, custom metrics or output beyond k6's own summary. Iteration n (in the test):
// post a message, list the room's newest page; n % 10 == 5 also the next page (when the first has a cursor);
// n % 20 == 7 list the rooms; n % 50 == 11 create a room (adding a member only with a second user: there is
// none here, as in the suite with USER_POOL=0); n % 100 == 13 log in. BENCH_VUS VUs loop for BENCH_DURATION,
// or, with BENCH_ITERATIONS, share that many iterations (the request-count test).
import http from 'k6/http';
import exec from 'k6/execution';

const vus = Number(__ENV.BENCH_VUS || 1);

export const options = {
  scenarios: {
    rest: __ENV.BENCH_ITERATIONS
      ? { executor: 'shared-iterations', vus, iterations: Number(__ENV.BENCH_ITERATIONS), maxDuration: '60s', exec: 'iteration' }
      : { executor: 'constant-vus', vus, duration: __ENV.BENCH_DURATION, gracefulStop: '5s', exec: 'iteration' },
  },
  // submetrics of the bench's figures, so they are in the summary data
  thresholds: { 'http_reqs{scenario:rest}': ['count>=0'], 'iterations{scenario:rest}': ['count>=0'] },
};

const CHAT = __ENV.CHAT_URL;
const AUTH = __ENV.AUTH_URL;
const login = () => http.post(`${AUTH}/api/v1/auth/login`, JSON.stringify({ tenant_id: __ENV.TENANT_ID, email: __ENV.LOGIN_EMAIL, password: __ENV.LOGIN_PASSWORD }), { headers: { 'Content-Type': 'application/json' } });

export function setup() {
  const token = login().json('access_token');
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
  const rooms = [];
  for (let i = 0; i < 10; i++) rooms.push(http.post(`${CHAT}/api/v1/rooms`, JSON.stringify({ name: `bench ${i}`, room_type: 'group', member_ids: [] }), { headers }).json('id'));
  console.log(`bench: load_start_ms=${Date.now()}`);
  return { headers, rooms };
}

export function iteration(data) {
  const n = exec.scenario.iterationInTest;
  const params = { headers: data.headers };
  const room = data.rooms[n % data.rooms.length];
  const messages = `${CHAT}/api/v1/rooms/${room}/messages`;
  http.post(messages, JSON.stringify({ body: `k6m:bench:0:r:${exec.vu.idInTest}:${exec.vu.iterationInScenario}:0:0 t=${Date.now()} load test message` }), params);
  const page = http.get(`${messages}?limit=50`, params);
  if (n % 10 === 5) {
    const cursor = page.json('next_cursor');
    if (cursor) http.get(`${messages}?limit=50&cursor=${encodeURIComponent(cursor)}`, params);
  }
  if (n % 20 === 7) http.get(`${CHAT}/api/v1/rooms?limit=50`, params);
  if (n % 50 === 11) http.post(`${CHAT}/api/v1/rooms`, JSON.stringify({ name: `bench extra ${n}`, room_type: 'group', member_ids: [] }), params);
  if (n % 100 === 13) login();
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_PATH]: JSON.stringify(data) };
}
