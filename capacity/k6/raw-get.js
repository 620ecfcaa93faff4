// The minimal k6 script the suite's REST rate is compared with: BENCH_VUS VUs looping one plain http.get for
// BENCH_DURATION, no checks, tags or custom metrics.
import http from 'k6/http';

export const options = {
  scenarios: { rest: { executor: 'constant-vus', vus: Number(__ENV.BENCH_VUS), duration: __ENV.BENCH_DURATION, gracefulStop: '5s', exec: 'get' } },
  thresholds: { 'http_reqs{scenario:rest}': ['count>=0'], 'iterations{scenario:rest}': ['count>=0'] },
};

const url = `${__ENV.CHAT_URL}/api/v1/rooms/r0/messages?limit=50`;
const params = { headers: { Authorization: 'Bearer bench-token' } };

export function setup() {
  console.log(`bench: load_start_ms=${Date.now()}`);
}

export function get() {
  http.get(url, params);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_PATH]: JSON.stringify(data) };
}
