// The suite's own room-socket scenario (./ws.js: scenarios/ws.ts bundled by build.mjs, PROFILE=stage3: 50 sockets
// per VU, one send per socket every 10 s) held by BENCH_VUS VUs for one session each, instead of the profile's
// ramp. VU k of n starts its session (k-1)/n × BENCH_SPREAD_S after the load start, as a ramp spreads VU starts,
// so the VUs' staggered sends do not fall on the same instants. With BENCH_IDLE_S set: one VU that only sleeps
// that long (the idle baseline of the same k6 and bundle).
import { sleep } from 'k6';
import exec from 'k6/execution';
import * as suite from './ws.js';

const idleS = __ENV.BENCH_IDLE_S ? Number(__ENV.BENCH_IDLE_S) : undefined;
const vus = Number(__ENV.BENCH_VUS || 1);
const spreadS = Number(__ENV.BENCH_SPREAD_S || 0);

export const options = {
  ...suite.options,
  scenarios:
    idleS === undefined
      ? { ws: { executor: 'per-vu-iterations', vus, iterations: 1, maxDuration: __ENV.BENCH_MAX_DURATION, gracefulStop: '10s', exec: 'spreadSession' } }
      : { idle: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: `${idleS + 10}s`, exec: 'idle' } },
  thresholds: idleS === undefined ? suite.options.thresholds : {},
};

export function setup() {
  const data = idleS === undefined ? suite.setup() : {};
  console.log(`bench: load_start_ms=${Date.now()}`);
  return data;
}

export function idle() {
  sleep(idleS);
}

export function spreadSession(data) {
  sleep(((exec.vu.idInTest - 1) / vus) * spreadS);
  suite.wsSession(data);
}

export const handleSummary = suite.handleSummary;
