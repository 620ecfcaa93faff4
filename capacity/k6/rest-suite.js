// The suite's own REST scenario (./rest.js: scenarios/rest.ts bundled by build.mjs) with its arrival-rate
// executor replaced by BENCH_VUS looping VUs for BENCH_DURATION, so it makes as many requests as k6 can (or, with
// BENCH_ITERATIONS, sharing that many iterations: the request-count test).
// Everything else (setup, requests, tags, metrics, thresholds, handleSummary) is the suite's.
import * as suite from './rest.js';

export const options = {
  ...suite.options,
  scenarios: {
    rest: __ENV.BENCH_ITERATIONS
      ? { executor: 'shared-iterations', vus: Number(__ENV.BENCH_VUS), iterations: Number(__ENV.BENCH_ITERATIONS), maxDuration: '60s', exec: 'restIteration' }
      : { executor: 'constant-vus', vus: Number(__ENV.BENCH_VUS), duration: __ENV.BENCH_DURATION, gracefulStop: '5s', exec: 'restIteration' },
  },
  thresholds: { ...suite.options.thresholds, 'http_reqs{scenario:rest}': ['count>=0'], 'iterations{scenario:rest}': ['count>=0'] },
};

export function setup() {
  const data = suite.setup();
  console.log(`bench: load_start_ms=${Date.now()}`);
  return data;
}

export const restIteration = suite.restIteration;
export const handleSummary = suite.handleSummary;
