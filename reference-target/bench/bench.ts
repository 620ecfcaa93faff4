/**
 * npm run bench:target [-- --seconds 8 --concurrency 32 --max 20000]
 *
 * Messages stored per second by the reference target (3 dbman nodes, 2 chat instances) on this machine, through
 * REST (POST /rooms/:id/messages) and through the room WebSocket (send, wait for the own echo, send the next).
 * Starts its own stack, loopback only, bounded in time and count, stops the stack at the end. The load generator
 * shares the machine with the target, so the figures are a floor. "stored" counts rows in PostgreSQL.
 */
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { z } from 'zod';
import { startStack, type RunningStack } from '../launcher/stack.js';
import { runStateFile } from '../../runner/run-dir.js';

const Args = z.object({
  seconds: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(120).default(8),
  concurrency: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(512).default(32),
  max: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(10).max(1_000_000).default(20_000),
});
type Args = z.infer<typeof Args>;

function parse(): Args {
  let raw;
  try {
    raw = parseArgs({ options: { seconds: { type: 'string' }, concurrency: { type: 'string' }, max: { type: 'string' } } }).values;
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const r = Args.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    process.stderr.write(`bench: --${i.path.join('.')}: ${i.message}\n`);
    process.exit(2);
  }
  return r.data;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
function post(url: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Result {
  path: string;
  acked: number;
  errors: number;
  stored: number;
  seconds: number;
  lat: number[];
}

async function storedCount(pool: pg.Pool, rooms: string[]): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM messages WHERE room_id = ANY($1::uuid[])', [rooms]);
  return Number(r.rows[0]!.n);
}

async function benchRest(stack: RunningStack, token: string, rooms: string[], a: Args, pool: pg.Pool): Promise<Result> {
  const chats = stack.target.chatInstances.map((c) => c.url);
  const deadline = Date.now() + a.seconds * 1000;
  let sent = 0;
  let acked = 0;
  let errors = 0;
  const lat: number[] = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: a.concurrency }, async (_, w) => {
      const url = `${chats[w % chats.length]}/api/v1/rooms/${rooms[w % rooms.length]}/messages`;
      while (Date.now() < deadline && sent < a.max) {
        sent++;
        const s = performance.now();
        try {
          const r = await post(url, token, { body: `rest ${w} ${sent}` });
          if (r.status === 201) acked++;
          else errors++;
        } catch {
          errors++;
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  return { path: 'REST', acked, errors, stored: await storedCount(pool, rooms), seconds, lat };
}

async function benchWs(stack: RunningStack, token: string, rooms: string[], a: Args, pool: pg.Pool): Promise<Result> {
  const wsUrls = stack.target.chatInstances.map((c) => `${c.url.replace(/^http/, 'ws')}/ws`);
  const before = await storedCount(pool, rooms);
  const deadline = Date.now() + a.seconds * 1000;
  let sent = 0;
  let acked = 0;
  let errors = 0;
  const lat: number[] = [];
  const sockets: WebSocket[] = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: a.concurrency }, (_, w) =>
      new Promise<void>((resolve) => {
        const room = rooms[w % rooms.length]!;
        const ws = new WebSocket(`${wsUrls[w % wsUrls.length]}?room_id=${room}&access_token=${token}`);
        sockets.push(ws);
        let marker = '';
        let sentAt = 0;
        const next = () => {
          if (Date.now() >= deadline || sent >= a.max) return resolve();
          sent++;
          marker = `ws ${w} ${sent} ${Math.random().toString(36).slice(2)}`;
          sentAt = performance.now();
          ws.send(JSON.stringify({ type: 'message', payload: { client_msg_id: marker, body: marker, file_ids: [], emojis: [] } }));
        };
        ws.on('open', next);
        ws.on('message', (data) => {
          const text = data.toString();
          if (text.includes('"type":"error"')) {
            errors++;
            lat.push(performance.now() - sentAt);
            return next();
          }
          if (text.includes(marker)) {
            acked++;
            lat.push(performance.now() - sentAt);
            next();
          }
        });
        ws.on('error', () => {
          errors++;
          resolve();
        });
      }),
    ),
  );
  const seconds = (Date.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  return { path: 'WS', acked, errors, stored: (await storedCount(pool, rooms)) - before, seconds, lat };
}

/** CPU seconds used so far per component (utime + stime; postgres includes its backends). */
function cpuByComponent(stack: RunningStack): Map<string, number> {
  const stat = (pid: number) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 };
    } catch {
      return undefined;
    }
  };
  const out = new Map<string, number>();
  const procs = (stack.target.reference?.['processes'] as Array<{ name: string; pid: number }>) ?? [];
  const pgPid = stack.target.reference?.postgres.pid;
  for (const p of procs) out.set(p.name, stat(p.pid)?.cpu ?? 0);
  if (pgPid) {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const st = stat(Number(d));
      if (st && st.ppid === pgPid) out.set('postgres', (out.get('postgres') ?? 0) + st.cpu);
    }
  }
  out.set('load generator', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
  return out;
}

function cpuReport(before: Map<string, number>, after: Map<string, number>, stored: number): string {
  const groups = new Map<string, number>();
  for (const [name, v] of after) {
    const g = name.replace(/-\d+$/, '');
    groups.set(g, (groups.get(g) ?? 0) + v - (before.get(name) ?? 0));
  }
  const parts = [...groups].filter(([, v]) => v > 0).map(([g, v]) => `${g} ${((v * 1000) / Math.max(1, stored)).toFixed(2)}`);
  return `      CPU ms per stored message: ${parts.join(', ')}`;
}

function report(r: Result): string {
  const s = [...r.lat].sort((x, y) => x - y);
  return (
    `${r.path.padEnd(5)} stored ${String(r.stored).padStart(6)} in ${r.seconds.toFixed(1)} s = ${(r.stored / r.seconds).toFixed(0).padStart(5)} msg/s` +
    `  (acked ${r.acked}, errors ${r.errors}; latency p50 ${pct(s, 50).toFixed(1)} ms, p95 ${pct(s, 95).toFixed(1)} ms, p99 ${pct(s, 99).toFixed(1)} ms)`
  );
}

async function main(): Promise<void> {
  const a = parse();
  const log = (l: string) => process.stdout.write(`bench: ${l}\n`);
  const stack = await startStack({ targetFilePath: runStateFile('bench', 'target.json'), flaws: [] });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.down();
  };
  process.on('SIGINT', () => void stop().finally(() => process.exit(130)));
  const pool = new pg.Pool({ connectionString: stack.target.reference!.postgres.url, max: 2 });
  try {
    const t = stack.target;
    const login = await fetch(`${t.authUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: t.tenantId, ...t.login }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const rooms: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await post(`${t.chatUrl}/api/v1/rooms`, token, { name: `bench ${i}` });
      rooms.push((JSON.parse(r.text) as { id: string }).id);
    }
    log(`3 dbman nodes, 2 chat instances; ${a.concurrency} concurrent senders over ${rooms.length} rooms, ${a.seconds} s or ${a.max} messages per path`);
    const c0 = cpuByComponent(stack);
    const rest = await benchRest(stack, token, rooms.slice(0, 4), a, pool);
    const c1 = cpuByComponent(stack);
    const ws = await benchWs(stack, token, rooms.slice(4), a, pool);
    const c2 = cpuByComponent(stack);
    process.stdout.write(`${report(rest)}\n${cpuReport(c0, c1, rest.stored)}\n${report(ws)}\n${cpuReport(c1, c2, ws.stored)}\n`);
  } finally {
    await pool.end();
    agent.destroy();
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
