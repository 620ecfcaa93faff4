/**
 * A minimal non-k6 room-socket client (the `ws` package) doing the bench's stage-3 socket work: the machine's
 * ceiling on the same endpoint, against which k6's figures are read. `node --import tsx capacity/ws-client.ts
 * '<json options>'` opens `sockets` sockets spread over `spreadS` (as k6's VUs start), each sending a message
 * every 10 s (first sends staggered over one interval, every 6th scheduled send a burst of 3), one in flight,
 * matched to its own echo by the marker in its body, for `sessionS` from its own open; it prints
 * `bench: load_start_ms=<ms>` when it starts and one JSON line of results (ClientResult) when every socket is
 * closed. Sends only to the loopback endpoint it is given. No idempotency repeats (they are 1 in 20 sends).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { repoRoot } from '../runner/paths.js';

export interface ClientOptions {
  wsUrl: string;
  token: string;
  sockets: number;
  sessionS: number;
  spreadS: number;
}

export interface ClientResult {
  /** send → own echo (ms), received in [load start + spreadS, load start + sessionS]. */
  steadyLatenciesMs: number[];
  deliveries: number;
  openFailed: number;
  closedEarly: number;
  echoTimeouts: number;
  framesReceived: number;
}

const INTERVAL_MS = 10_000;
const ACK_TIMEOUT_MS = 10_000;
const BURST = { every: 6, size: 3 };
const SOCKETS_PER_GROUP = 50;

export async function runClient(o: ClientOptions, loadStartMs = Date.now()): Promise<ClientResult> {
  const r: ClientResult = { steadyLatenciesMs: [], deliveries: 0, openFailed: 0, closedEarly: 0, echoTimeouts: 0, framesReceived: 0 };
  const steadyFrom = loadStartMs + o.spreadS * 1000;
  const steadyTo = loadStartMs + o.sessionS * 1000;
  const groups = Math.ceil(o.sockets / SOCKETS_PER_GROUP);
  const done: Promise<void>[] = [];
  for (let i = 0; i < o.sockets; i++) {
    const group = Math.floor(i / SOCKETS_PER_GROUP);
    const index = i % SOCKETS_PER_GROUP;
    const delay = (group / groups) * o.spreadS * 1000;
    done.push(new Promise((resolve) => setTimeout(() => socket(o, r, group, index, steadyFrom, steadyTo, resolve), delay)));
  }
  await Promise.all(done);
  return r;
}

function socket(o: ClientOptions, r: ClientResult, group: number, index: number, steadyFrom: number, steadyTo: number, resolve: () => void): void {
  const start = Date.now();
  const endMs = start + o.sessionS * 1000;
  const ws = new WebSocket(`${o.wsUrl}?room_id=bench`, { headers: { Authorization: `Bearer ${o.token}` }, perMessageDeflate: false });
  let pending: { match: string; sentMs: number; timer: NodeJS.Timeout } | undefined;
  let seq = 0;
  let slot = 0;
  let burstLeft = 0;
  let open = false;
  let interval: NodeJS.Timeout | undefined;
  const send = (now: number): void => {
    const id = `k6m:bench:0:n:${group}:0:${index}:${seq++}`;
    ws.send(JSON.stringify({ type: 'message', payload: { client_msg_id: id, body: `${id} t=${now} load test message`, file_ids: [], emojis: [] } }));
    const timer = setTimeout(() => {
      r.echoTimeouts += 1;
      pending = undefined;
    }, ACK_TIMEOUT_MS);
    pending = { match: `${id} t=`, sentMs: now, timer };
  };
  const scheduled = (): void => {
    const now = Date.now();
    if (now >= endMs || !open) return;
    const s = slot++;
    if (pending) return;
    burstLeft = s % BURST.every === BURST.every - 1 ? BURST.size - 1 : 0;
    send(now);
  };
  ws.on('open', () => {
    open = true;
    const first = start + (INTERVAL_MS * (index + 1)) / (SOCKETS_PER_GROUP + 1);
    setTimeout(() => {
      scheduled();
      interval = setInterval(scheduled, INTERVAL_MS);
    }, Math.max(0, first - Date.now()));
    const closeAt = (): void => {
      if (pending && Date.now() < endMs + ACK_TIMEOUT_MS + 1000) return void setTimeout(closeAt, 100);
      ws.close();
    };
    setTimeout(closeAt, o.sessionS * 1000);
  });
  ws.on('message', (data: Buffer) => {
    r.framesReceived += 1;
    const p = pending;
    if (!p || !data.toString().includes(p.match)) return;
    const now = Date.now();
    clearTimeout(p.timer);
    pending = undefined;
    r.deliveries += 1;
    if (now >= steadyFrom && now <= steadyTo) r.steadyLatenciesMs.push(now - p.sentMs);
    if (burstLeft > 0 && now < endMs) {
      burstLeft -= 1;
      send(now);
    }
  });
  ws.on('error', () => {
    if (!open) r.openFailed += 1;
  });
  ws.on('close', () => {
    if (interval) clearInterval(interval);
    if (pending) clearTimeout(pending.timer);
    if (open && Date.now() < endMs) r.closedEarly += 1;
    open = false;
    resolve();
  });
}

export interface ClientProcess {
  pid: number;
  loadStart: Promise<number | undefined>;
  done: Promise<ClientResult>;
  stop(): void;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs the client in a process of its own (so its CPU is measured apart); rejects when it prints no result. */
export function spawnClient(o: ClientOptions, timeoutMs: number): ClientProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(o)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let announce!: (ms: number | undefined) => void;
  const loadStart = new Promise<number | undefined>((r) => (announce = r));
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const timer = setTimeout(stop, timeoutMs);
  const done = new Promise<ClientResult>((resolve, reject) => {
    let result: ClientResult | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^bench: load_start_ms=(\d+)$/.exec(line);
      if (m) announce(Number(m[1]));
      else if (line.startsWith('{')) result = JSON.parse(line) as ClientResult;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      announce(undefined);
      if (result) resolve(result);
      else reject(new Error(`ws client: exit ${code} without a result`));
    });
  });
  return { pid: child.pid ?? -1, loadStart, done, stop };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const o = JSON.parse(process.argv[2] ?? '{}') as ClientOptions;
  const loadStartMs = Date.now();
  process.stdout.write(`bench: load_start_ms=${loadStartMs}\n`);
  process.once('SIGTERM', () => process.exit(143));
  const r = await runClient(o, loadStartMs);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
