/**
 * Makes a real run directory for the report tests: the real k6 binary drives a small local node:http + ws
 * server that "fails over" in a known window (503s and slow responses on message_store, a node reported not
 * ready), with `--out json` and the `endpoint`/`phase` tags the scenarios use. The raw output, k6's summary
 * data and the runner's threshold judgement are real; drill.json and integrity.json follow the chaos and
 * integrity formats, with the fault window's true wall-clock times.
 *
 * Also runnable: `tsx tests/report/fixture.ts <dir> [seconds]`.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { judgeThresholds, verdictOf } from '../../runner/verdict.js';
import { K6SummaryData } from '../../runner/summary.js';

export const K6 = resolve(import.meta.dirname, '../../.tools/bin/k6');

export interface FixtureOptions {
  /** Load length in seconds. */
  durationS?: number;
  /** Fault window, seconds after the first request. */
  faultAtS?: number;
  faultForS?: number;
  vus?: number;
  /** Extra latency (ms) on every message_store answer, to make a slower run for compare. */
  extraDelayMs?: number;
  runId?: string;
  /** Write drill.json and integrity.json (a drill) or not (a plain smoke). */
  drill?: boolean;
}

export interface FixtureRun {
  dir: string;
  injectMs: number;
  healMs: number;
  k6Version: string;
}

const SCRIPT = `
import http from 'k6/http';
import ws from 'k6/ws';
import { Trend, Rate } from 'k6/metrics';
import { check, sleep } from 'k6';
const storeOk = new Rate('message_store_success');
const wsLat = new Trend('ws_delivery_latency', true);
const fanout = new Rate('ws_fanout_delivery');
const BASE = __ENV.BASE;
const WINDOWS = JSON.parse(__ENV.FAULT_WINDOWS || '[]');
export const options = {
  scenarios: { load: { executor: 'constant-vus', vus: Number(__ENV.VUS), duration: __ENV.DURATION } },
  thresholds: Object.assign(
    {
      'http_req_duration{phase:baseline}': ['p(95)<300'],
      'http_req_failed{phase:baseline}': ['rate<0.01'],
      'message_store_success': ['rate>0.999'],
      'ws_delivery_latency': ['p(95)<500'],
    },
    WINDOWS.length
      ? {
          'http_req_duration{phase:fault}': ['p(95)<300'],
          'http_req_duration{phase:recovery}': ['p(95)<300'],
          'http_req_failed{phase:fault}': ['rate<0.05'],
          'http_req_failed{phase:recovery}': ['rate<0.01'],
        }
      : {},
  ),
};
export function setup() { return { start: Date.now() }; }
function phaseOf(start) {
  const s = (Date.now() - start) / 1000;
  if (!WINDOWS.length || s < WINDOWS[0][0]) return 'baseline';
  for (const w of WINDOWS) if (s >= w[0] && s < w[1]) return 'fault';
  return 'recovery';
}
export default function (data) {
  let phase = phaseOf(data.start);
  const r = http.post(BASE + '/messages', '{"body":"x"}', { tags: { endpoint: 'message_store', phase } });
  storeOk.add(r.status === 201, { endpoint: 'message_store', phase });
  check(r, { 'stored': (x) => x.status === 201 });
  phase = phaseOf(data.start);
  http.get(BASE + '/messages', { tags: { endpoint: 'message_list', phase } });
  if (__VU === 1) {
    ws.connect(BASE.replace('http', 'ws') + '/ws', { tags: { endpoint: 'ws', phase } }, (socket) => {
      let got = 0;
      socket.on('open', () => { for (let i = 0; i < 3; i++) socket.send(JSON.stringify({ sent: Date.now() })); });
      socket.on('message', (m) => {
        const p = phaseOf(data.start);
        wsLat.add(Date.now() - JSON.parse(m).sent, { phase: p });
        fanout.add(true, { phase: p });
        if (++got === 3) socket.close();
      });
      socket.setTimeout(() => { for (let i = got; i < 3; i++) fanout.add(false, { phase: phaseOf(data.start) }); socket.close(); }, 1000);
    });
  }
  sleep(0.1);
}
export function handleSummary(d) { return { [__ENV.SUMMARY_PATH]: JSON.stringify(d) }; }
`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code, out }));
  });
}

export async function makeFixtureRun(dir: string, o: FixtureOptions = {}): Promise<FixtureRun> {
  const durationS = o.durationS ?? 9;
  const faultAtS = o.faultAtS ?? 3;
  const faultForS = o.faultForS ?? 2.5;
  const drill = o.drill ?? true;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  let firstMs: number | null = null;
  const inFault = () => drill && firstMs !== null && Date.now() >= firstMs + faultAtS * 1000 && Date.now() < firstMs + (faultAtS + faultForS) * 1000;
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') return res.end('ok');
    firstMs ??= Date.now();
    n++;
    const store = req.method === 'POST';
    const fault = store && inFault();
    const delay = (store ? 4 + (n % 5) + (o.extraDelayMs ?? 0) : 2) + (fault ? 150 : 0);
    req.resume();
    setTimeout(() => {
      const failed = fault && n % 2 === 0;
      res.writeHead(failed ? 503 : store ? 201 : 200, { 'content-type': 'application/json' });
      res.end(failed ? '{"error":"dbman unavailable"}' : '{"ok":true}');
    }, delay);
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (s) => s.on('message', (m) => setTimeout(() => s.send(m.toString()), inFault() ? 40 : 3)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;

  const scriptPath = join(dir, 'fixture-script.js');
  const rawPlain = join(dir, 'k6-raw.json');
  const k6SummaryPath = join(dir, 'k6-summary.json');
  await writeFile(scriptPath, SCRIPT);
  const env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    K6_NO_USAGE_REPORT: 'true',
    BASE: `http://127.0.0.1:${port}`,
    VUS: String(o.vus ?? 4),
    DURATION: `${durationS}s`,
    FAULT_WINDOWS: drill ? JSON.stringify([[faultAtS, faultAtS + faultForS]]) : '[]',
    SUMMARY_PATH: k6SummaryPath,
  };
  const startedAt = new Date();
  let k6: { code: number | null; out: string };
  try {
    k6 = await run(K6, ['run', '--quiet', '--no-usage-report', '--out', `json=${rawPlain}`, scriptPath], env);
  } finally {
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
  if (k6.code !== 0 && k6.code !== 99) throw new Error(`k6 exited ${k6.code}: ${k6.out.slice(-2000)}`);
  const version = await run(K6, ['version'], env);
  const k6Version = /v\d+\.\d+\.\d+/.exec(version.out)?.[0] ?? 'unknown';
  await pipeline(createReadStream(rawPlain), createGzip(), createWriteStream(`${rawPlain}.gz`));
  await rm(rawPlain);
  await rm(scriptPath);
  const rawPath = `${rawPlain}.gz`;

  const data = K6SummaryData.parse(JSON.parse(await readFile(k6SummaryPath, 'utf8')));
  const thresholds = await judgeThresholds(data, rawPath);
  const errors: string[] = [];
  const runId = o.runId ?? dir.split('/').pop()!;
  const injectMs = (firstMs ?? startedAt.getTime()) + faultAtS * 1000;
  const healMs = injectMs + faultForS * 1000;
  await writeFile(
    join(dir, 'summary.json'),
    JSON.stringify(
      {
        runId,
        kind: drill ? 'drill' : 'smoke',
        profile: 'fixture',
        verdict: verdictOf(thresholds, errors),
        errors,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        durations: {},
        k6Version,
        k6ExitCode: k6.code,
        gitRevision: 'fixture0000000000000000000000000000000000',
        target: {
          name: 'fixture <server>',
          chatUrl: `http://127.0.0.1:${port}`,
          authUrl: `http://127.0.0.1:${port}`,
          wsUrl: `ws://127.0.0.1:${port}/ws?access_token=secret-token-123`,
          tenantId: 'default',
          reference: false,
        },
        thresholds,
        files: { raw: 'k6-raw.json.gz', k6Summary: 'k6-summary.json' },
      },
      null,
      2,
    ),
  );
  if (drill) {
    const iso = (ms: number) => new Date(ms).toISOString();
    await writeFile(
      join(dir, 'drill.json'),
      JSON.stringify(
        {
          runId,
          profile: 'fixture',
          faultWindows: [[faultAtS, faultAtS + faultForS]],
          // The fields of chaos/drill/run.ts's DrillFault; the figures are fixed numbers the report must show.
          faults: [
            {
              fault: 'pause',
              node: 'dbman-1',
              plannedAtS: faultAtS,
              plannedForS: faultForS,
              id: 'fixture-pause-dbman-1',
              driver: 'process',
              injectAt: iso(injectMs),
              healAt: iso(healMs),
              impactSeen: true,
              failoverS: 1.2,
              relapseSeconds: 0,
              longestErrorBurst: { seconds: 2, startOffsetS: 0, failed: 25 },
              requestsDuringFault: 112,
              failedDuringFault: 25,
              recoveryS: 0.8,
              nodeReadyAfterHealS: 0.7,
              firstErrorOffsetS: 0.05,
            },
            { fault: 'kill', node: 'dbman-2', plannedAtS: 99, plannedForS: 1, error: 'not injected' },
          ],
          readiness: {
            'dbman-1': [
              { t: iso(injectMs - 3000), ready: true },
              { t: iso(injectMs + 200), ready: false },
              { t: iso(healMs + 700), ready: true },
            ],
            'dbman-2': [{ t: iso(injectMs - 3000), ready: true }],
          },
        },
        null,
        2,
      ),
    );
    await writeFile(
      join(dir, 'integrity.json'),
      JSON.stringify(
        {
          ok: 118, lost: 0, duplicates: 2, indeterminate: 1, undelivered: 0, reordered: 0, late: 3, unverified: 1, duplicateDeliveries: 0, idempotency: 0,
          bounds: { lost: { events: 0, judged: 121, upper95: 0.0245 }, duplicates: { events: 2, judged: 121, upper95: 0.0513, target: 0.001, needed: 6296 }, undelivered: { events: 0, judged: 400, upper95: 0.00746 } },
          rooms: [{ room: 'room-<7>', expected: 60, readDefault: 30, readAny: 60, pageSize: 50, status: 'unverified', reason: 'short pages' }],
          details: { lateLagMs: { max: 3100, median: 2900 }, readAfterWrite: { judged: 80, missed: 12 } },
          examples: { duplicates: [{ marker: 'm-<b>1</b>' }] },
        },
        null,
        2,
      ),
    );
  }
  return { dir, injectMs, healMs, k6Version };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [dir, secs] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: tsx tests/report/fixture.ts <dir> [seconds]');
    process.exit(2);
  }
  makeFixtureRun(resolve(dir), { durationS: secs ? Number(secs) : undefined }).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
