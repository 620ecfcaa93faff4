// The suite's room-socket work written by hand with k6 defaults, as an SRE would write it without the suite:
// the same frames at the same times as scenarios/ws.ts at PROFILE=stage3 (lib/load.ts wsSession) and nothing else.
// BENCH_VUS VUs hold 50 sockets each for one BENCH_SESSION_S session (VU k of n starts (k-1)/n x BENCH_SPREAD_S
// late, as capacity/k6/ws-suite.js does). Per socket: a message every 10 s, the first sends staggered over one
// interval; every 6th scheduled send starts a burst of 3 (the next sent when the echo comes back); one message in
// flight, matched to its own echo by the marker in its body; after the 1st (socket 0) and every 20th (from the
// 10th) acknowledged message the same frame again, 200 ms (or, every second repeat, 2 s later with a fresh send
// time) after the echo, awaiting its answer. With BENCH_IDLE_S: one VU that only sleeps (the idle baseline). Metrics: the send -> own echo time (a Trend per part of the run, to
// judge the steady part apart from the socket opening) and the failure counts; no tags, checks, metadata or
// output beyond k6's own summary.
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { WebSocket } from 'k6/websockets';
import { setInterval, clearInterval, setTimeout } from 'k6/timers';

const vus = Number(__ENV.BENCH_VUS || 1);
const spreadS = Number(__ENV.BENCH_SPREAD_S || 0);
const sessionMs = Number(__ENV.BENCH_SESSION_S || 20) * 1000;
const SOCKETS = 50;
const INTERVAL_MS = 10_000;
const ACK_TIMEOUT_MS = 10_000;
const BURST = { every: 6, size: 3 };
const REPEAT_EVERY = 20;

const idleS = __ENV.BENCH_IDLE_S ? Number(__ENV.BENCH_IDLE_S) : undefined;

export const options = {
  scenarios:
    idleS === undefined
      ? { ws: { executor: 'per-vu-iterations', vus, iterations: 1, maxDuration: __ENV.BENCH_MAX_DURATION || '60s', gracefulStop: '10s', exec: 'session' } }
      : { idle: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: `${idleS + 10}s`, exec: 'idle' } },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'count'],
};

const opening = new Trend('ws_delivery_opening', true);
const steady = new Trend('ws_delivery_steady', true);
const openFailed = new Counter('ws_open_failed');
const closedEarly = new Counter('ws_closed_early');
const echoTimeouts = new Counter('ws_echo_timeout');

export function setup() {
  const res = http.post(`${__ENV.AUTH_URL}/api/v1/auth/login`, JSON.stringify({ tenant_id: __ENV.TENANT_ID, email: __ENV.LOGIN_EMAIL, password: __ENV.LOGIN_PASSWORD }), { headers: { 'Content-Type': 'application/json' } });
  const token = res.json('access_token');
  const room = http.post(`${__ENV.CHAT_URL}/api/v1/rooms`, JSON.stringify({ name: 'bench', room_type: 'group', member_ids: [] }), { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } });
  const loadStartMs = Date.now();
  console.log(`bench: load_start_ms=${loadStartMs}`);
  return { token, roomId: room.json('id'), loadStartMs };
}

// With BENCH_IDLE_S: one VU that only sleeps that long (the idle baseline of the same k6 and script).
export function idle() {
  sleep(idleS);
}

export function session(data) {
  sleep(((exec.vu.idInTest - 1) / vus) * spreadS);
  const vu = exec.vu.idInTest;
  const start = Date.now();
  const endMs = start + sessionMs;
  const steadyFrom = data.loadStartMs + spreadS * 1000;
  const steadyTo = data.loadStartMs + sessionMs;
  const sockets = [];
  for (let i = 0; i < SOCKETS; i++) sockets.push(openSocket(data, vu, i, start, endMs, steadyFrom, steadyTo));
  const closer = setInterval(() => {
    const now = Date.now();
    if (now < endMs) return;
    if (now < endMs + ACK_TIMEOUT_MS + 1000 && sockets.some((s) => s.pending)) return;
    for (const s of sockets) s.ws.close();
    clearInterval(closer);
  }, 1000);
}

function openSocket(data, vu, index, start, endMs, steadyFrom, steadyTo) {
  const ws = new WebSocket(`${__ENV.WS_URL}?room_id=${data.roomId}`, null, { headers: { Authorization: `Bearer ${data.token}` } });
  const s = { ws, pending: undefined, seq: 0, acks: 0, repeats: 0, burstLeft: 0, slot: 0, open: false, closing: false };
  const frame = (id, body) => JSON.stringify({ type: 'message', payload: { client_msg_id: id, body, file_ids: [], emojis: [] } });
  const send = (now) => {
    const id = `k6m:bench:0:w:${vu}:0:${index}:${s.seq++}`;
    const text = frame(id, `${id} t=${now} load test message`);
    s.pending = { id, match: `${id} t=`, text, sentMs: now, repeat: false };
    ws.send(text);
    const p = s.pending;
    setTimeout(() => {
      if (s.pending === p) {
        if (!p.repeat) echoTimeouts.add(1);
        s.pending = undefined;
      }
    }, ACK_TIMEOUT_MS);
  };
  const repeat = (p, late) => {
    if (!s.open) return;
    if (s.pending) return void setTimeout(() => repeat(p, late), 100); // after the message in flight
    const text = late ? p.text.replace(/ t=\d+/, ` t=${Date.now()}`) : p.text;
    s.pending = { id: p.id, match: `${p.id} t=`, text, sentMs: Date.now(), repeat: true };
    ws.send(text);
  };
  const scheduled = () => {
    const now = Date.now();
    if (now >= endMs || !s.open) return;
    const slot = s.slot++;
    if (s.pending) return; // skipped: still waiting for an answer
    s.burstLeft = slot % BURST.every === BURST.every - 1 ? BURST.size - 1 : 0;
    send(now);
  };
  ws.onopen = () => {
    s.open = true;
    const firstMs = start + (INTERVAL_MS * (index + 1)) / (SOCKETS + 1);
    setTimeout(() => {
      scheduled();
      s.timer = setInterval(scheduled, INTERVAL_MS);
    }, Math.max(0, firstMs - Date.now()));
  };
  ws.onmessage = (e) => {
    const p = s.pending;
    if (!p) return;
    const text = e.data;
    if (p.repeat && text.indexOf('"error"') >= 0) {
      s.pending = undefined; // the repeat's answer: duplicate client_msg_id
      return;
    }
    if (text.indexOf(p.match) < 0) return;
    const now = Date.now();
    s.pending = undefined;
    if (p.repeat) return;
    (now >= steadyFrom && now <= steadyTo ? steady : opening).add(now - p.sentMs);
    const n = s.acks++;
    if ((index === 0 && n === 0) || n % REPEAT_EVERY === REPEAT_EVERY / 2) {
      const late = s.repeats++ % 2 === 1;
      setTimeout(() => repeat(p, late), late ? 2000 : 200);
    }
    if (s.burstLeft > 0 && now < endMs) {
      s.burstLeft -= 1;
      send(now);
    }
  };
  ws.onerror = () => {
    if (!s.open) openFailed.add(1);
  };
  ws.onclose = () => {
    if (s.timer) clearInterval(s.timer);
    if (s.open && Date.now() < endMs) closedEarly.add(1);
    s.open = false;
  };
  return s;
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_PATH]: JSON.stringify(data) };
}
