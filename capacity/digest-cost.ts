/**
 * `npx tsx capacity/digest-cost.ts [--minutes 10]`: what the per-socket delivery digest (lib/delivery-digest.ts)
 * costs at the stage-3 pattern, measured, not estimated:
 *
 * - one ws room as stage 3 fills it: 50 sockets at once, each a 60 s session after another (a new sender stream
 *   per session), a send every 10 s plus a burst of 3 every 6th send (8 messages per session);
 * - in k6 (the real JS runtime of the load generator, not V8): CPU per received frame for the marker extraction
 *   plus the digest record, and the encoded digest's bytes per socket session;
 * - in Node (the integrity check): decoding the digests and judging every (message × socket) pair of the room.
 *
 * Prints the figures and the stage-3 totals they imply (2,000 such rooms for 30 min). Sends nothing anywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { classify } from '../integrity/classify.js';
import { addRecord, emptyHistory } from '../integrity/history.js';
import { DeliveryDigest, streamKey } from '../lib/delivery-digest.js';
import { messageBody, parseBody, type Marker } from '../lib/marker.js';
import { repoRoot } from '../runner/paths.js';
import { ensureK6 } from '../runner/provision.js';

const SOCKETS = 50;
const SESSION_S = 60;
const INTERVAL_S = 10;
const BURST = { every: 6, size: 3 };
const RUN = 'r1';

interface Msg { marker: Marker; atMs: number }
interface Session { slot: number; iter: number; openMs: number; closeMs: number }

/** The room's sessions and messages over `minutes` (deterministic stagger). */
export function roomPattern(minutes: number): { sessions: Session[]; msgs: Msg[] } {
  const endMs = minutes * 60_000;
  const sessions: Session[] = [];
  const msgs: Msg[] = [];
  for (let slot = 0; slot < SOCKETS; slot++) {
    const offset = (slot * SESSION_S * 1000) / SOCKETS;
    for (let iter = 0, t = offset; t + SESSION_S * 1000 <= endMs; iter++, t += SESSION_S * 1000) {
      sessions.push({ slot, iter, openMs: t, closeMs: t + SESSION_S * 1000 });
      let seq = 0;
      for (let k = 0; k < SESSION_S / INTERVAL_S; k++) {
        const at = t + 500 + k * INTERVAL_S * 1000;
        const n = k % BURST.every === BURST.every - 1 ? BURST.size : 1;
        for (let b = 0; b < n; b++) msgs.push({ marker: { run: RUN, inst: '17', src: 'w', vu: 30_000 + slot, iter, sock: slot % 50, seq: seq++ }, atMs: at + b * 30 });
      }
    }
  }
  msgs.sort((a, b) => a.atMs - b.atMs);
  return { sessions, msgs };
}

const frame = (m: Msg) =>
  JSON.stringify({ type: 'message', room_id: 'room-uuid-0000-0000-0000-000000000000', user_id: 'user-uuid-0000', target_id: '', payload: { tenant_id: 'default', id: '6f1c2a8e-0000-4000-8000-000000000000', room_id: 'room-uuid', sender_id: 'user-uuid', body: messageBody(m.marker, m.atMs), meta_json: '{}', created_at: new Date(m.atMs).toISOString() } });

/** k6: frames per second one VU can record, and digest bytes, for one socket session's receipts. */
async function measureInK6(frames: string[], reps: number): Promise<{ usPerFrame: number; parseUsPerFrame: number; digestBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'digest-cost-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(join(dir, 'frames.json'), JSON.stringify(frames));
    writeFileSync(
      entry,
      `import { DeliveryDigest } from ${JSON.stringify(join(repoRoot, 'lib/delivery-digest.ts'))};
import { receiptInFrame } from ${JSON.stringify(join(repoRoot, 'lib/marker.ts'))};
const frames = JSON.parse(open(${JSON.stringify(join(dir, 'frames.json'))}));
export const options = { vus: 1, iterations: 1 };
export default function () {
  let bytes = 0;
  const t0 = Date.now();
  for (let r = 0; r < ${reps}; r++) {
    const d = new DeliveryDigest();
    for (const f of frames) { const m = receiptInFrame(f); if (m) d.record(m.key, m.seq); }
    bytes = d.encode().length;
  }
  const ms = Date.now() - t0;
  // the baseline: decoding each frame, as a hot-room subscriber already does for every frame it gets
  const t1 = Date.now();
  let n = 0;
  for (let r = 0; r < ${reps}; r++) for (const f of frames) if (JSON.parse(f).type === 'message') n++;
  const parseMs = Date.now() - t1;
  console.log('RESULT ' + JSON.stringify({ ms, bytes, parseMs }));
}`,
    );
    await build({ entryPoints: [entry], outfile: join(dir, 'bench.js'), bundle: true, format: 'esm', platform: 'neutral', target: 'es2020', external: ['k6', 'k6/*'], logLevel: 'silent' });
    const k6 = await ensureK6({ log: () => {} });
    const run = spawnSync(k6, ['run', '--quiet', '--summary-mode=disabled', '--log-format', 'raw', join(dir, 'bench.js')], { encoding: 'utf8', env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
    const out = `${run.stdout}\n${run.stderr}`;
    const m = /RESULT (\{.*\})/.exec(out);
    if (!m) throw new Error(`k6 printed no result: ${out.slice(0, 500)}`);
    const r = JSON.parse(m[1]!) as { ms: number; bytes: number; parseMs: number };
    return { usPerFrame: (r.ms * 1000) / (reps * frames.length), parseUsPerFrame: (r.parseMs * 1000) / (reps * frames.length), digestBytes: r.bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Node: the integrity check's delivery judgement of the whole room. */
function measureJudge(sessions: Session[], msgs: Msg[]): { pairs: number; ms: number; digestBytesTotal: number } {
  const h = emptyHistory();
  const room = 'room-1';
  for (const m of msgs) addRecord(h, 'message_store_success', m.atMs + 20, { marker: `k6m:${RUN}:${streamKey(m.marker)}:${m.marker.seq}`, room, sender: 'u', outcome: 'acked', detail: 'echo' });
  let digestBytesTotal = 0;
  for (const s of sessions) {
    const d = new DeliveryDigest();
    for (const m of msgs) if (m.atMs >= s.openMs && m.atMs + 20 <= s.closeMs) d.record(streamKey(m.marker), m.marker.seq);
    const digest = d.encode();
    digestBytesTotal += digest.length;
    addRecord(h, 'ws_session_ok', s.closeMs, { socket: `${RUN}:17:w:${30_000 + s.slot}:${s.iter}:${s.slot % 50}`, room, opened_ms: String(s.openMs), closed_ms: String(s.closeMs), gaps: '', digest });
  }
  const stored = msgs.map((m, i) => ({ id: `id${i}`, room, body: messageBody(m.marker, m.atMs) }));
  const t0 = performance.now();
  const c = classify(h, stored);
  const ms = performance.now() - t0;
  if (c.undelivered !== 0 || c.lost !== 0) throw new Error(`bench room judged wrong: ${c.undelivered} undelivered, ${c.lost} lost`);
  return { pairs: c.deliveriesJudged, ms, digestBytesTotal };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
  const minutes = Number(values.minutes);
  if (!Number.isInteger(minutes) || minutes < 2 || minutes > 60) {
    process.stderr.write(`--minutes: "${values.minutes}" is not allowed (a whole number from 2 to 60)\n`);
    process.exit(2);
  }
  const { sessions, msgs } = roomPattern(minutes);
  const mid = sessions.find((s) => s.openMs >= 5 * 60_000 / 5)!;
  const heard = msgs.filter((m) => m.atMs >= mid.openMs && m.atMs <= mid.closeMs);
  const k6 = await measureInK6(heard.map(frame), 50);
  const judge = measureJudge(sessions, msgs);
  const streams = new Set(heard.map((m) => streamKey(m.marker))).size;
  const perSession = judge.digestBytesTotal / sessions.length;
  const roomMsgs = msgs.length;
  const stage3 = { rooms: 2000, minutes: 30 };
  const scale = (stage3.minutes / minutes) * stage3.rooms;
  const lines = [
    `room at the stage-3 pattern for ${minutes} min: ${SOCKETS} sockets at once, ${sessions.length} socket sessions, ${roomMsgs} messages (${(roomMsgs / (minutes * 60)).toFixed(2)}/s)`,
    `one socket session: ${heard.length} frames from ${streams} sender streams → digest ${k6.digestBytes} bytes (${(k6.digestBytes / heard.length).toFixed(2)} bytes per message received); mean over all sessions ${perSession.toFixed(0)} bytes`,
    `k6 CPU per received frame (marker extraction + record): ${k6.usPerFrame.toFixed(2)} µs (JSON.parse of the same frame: ${k6.parseUsPerFrame.toFixed(2)} µs; load average ${loadavg()[0]!.toFixed(1)}); a socket session ${(k6.usPerFrame * heard.length / 1000).toFixed(2)} ms; at 2,000 sockets per k6 process (the benchmarked capacity) and ${(heard.length / SESSION_S).toFixed(1)} frames/s each: ${((k6.usPerFrame * heard.length / SESSION_S) * 2000 / 1e6 * 100).toFixed(1)} % of one core`,
    `integrity check, delivery judgement: ${judge.pairs} pairs in ${judge.ms.toFixed(0)} ms (${((judge.ms * 1e6) / judge.pairs).toFixed(0)} ns per pair)`,
    `stage 3 (${stage3.rooms} such rooms, ${stage3.minutes} min): digests ${((judge.digestBytesTotal * scale) / 2 ** 30).toFixed(2)} GiB in the raw output, ${(judge.pairs * scale / 1e9).toFixed(2)} billion pairs ≈ ${((judge.ms * scale) / 60_000).toFixed(1)} min of judgement`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1]?.endsWith('digest-cost.ts')) {
  main().catch((err: unknown) => {
    process.stderr.write(`digest-cost: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
