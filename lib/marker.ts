/**
 * The unique marker put into every message body, so a WS echo, a fan-out receipt and a stored message (read back
 * later by the integrity check) can be matched to one send. PURE.
 *
 *   body = "k6m:<run>:<inst>:<src>:<vu>:<iter>:<sock>:<seq> t=<sendEpochMs> <filler>"
 *
 * run = run id, inst = load-generator instance, src = r (REST) | w (ws) | h (hot room), vu = VU id in the test,
 * iter = iteration of that VU in its scenario, sock = socket index inside the iteration (0 for REST),
 * seq = sequence number of the message from that sender. The sender key (everything but seq) identifies one
 * sender stream, whose seq increases by one per message.
 */

export type MarkerSource = 'r' | 'w' | 'h';

export interface Marker {
  run: string;
  inst: string;
  src: MarkerSource;
  vu: number;
  iter: number;
  sock: number;
  seq: number;
}

const RE = /^k6m:([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_-]{1,16}):([rwh]):(\d+):(\d+):(\d+):(\d+)(?: t=(\d+))?/;

export function formatMarker(m: Marker): string {
  return `k6m:${m.run}:${m.inst}:${m.src}:${m.vu}:${m.iter}:${m.sock}:${m.seq}`;
}

/** The sender-stream key of a marker (marker without its seq). */
export function senderKey(m: Marker): string {
  return `${m.run}:${m.inst}:${m.src}:${m.vu}:${m.iter}:${m.sock}`;
}

export function messageBody(m: Marker, sendMs: number, filler = 'load test message'): string {
  return `${formatMarker(m)} t=${Math.round(sendMs)} ${filler}`;
}

export interface ParsedBody {
  marker: Marker;
  /** The marker text itself (unique per message). */
  id: string;
  sendMs: number | undefined;
}

/** Parses a message body written by messageBody(); undefined for any other text. */
export function parseBody(body: unknown): ParsedBody | undefined {
  if (typeof body !== 'string') return undefined;
  const g = RE.exec(body);
  if (!g) return undefined;
  const marker: Marker = {
    run: g[1]!,
    inst: g[2]!,
    src: g[3] as MarkerSource,
    vu: Number(g[4]),
    iter: Number(g[5]),
    sock: Number(g[6]),
    seq: Number(g[7]),
  };
  return { marker, id: formatMarker(marker), sendMs: g[8] === undefined ? undefined : Number(g[8]) };
}

/** client_msg_id for a WS send: the marker itself (unique per message, stable across retries). */
export function clientMsgId(m: Marker): string {
  return formatMarker(m);
}

const MESSAGE_FRAME = /"type"\s*:\s*"message"/;

/**
 * The marker of a raw fan-out frame (`{"type":"message",...,"payload":{...,"body":"k6m:..."}}`) without decoding
 * the JSON: cheap enough for every frame of every socket (string searches, no regular expression in the common
 * case; k6's JS runtime is an interpreter). `key` is the sender stream within the run (`inst:src:vu:iter:sock`,
 * lib/delivery-digest.ts streamKey), `seq` the message's number in it. Undefined for other frames and unmarked bodies.
 */
/** A marked frame's sender stream (`inst:src:vu:iter:sock`) and seq. */
export interface Receipt {
  key: string;
  seq: number;
}

export function receiptInFrame(raw: string): Receipt | undefined {
  const i = raw.indexOf('k6m:');
  if (i < 0) return undefined;
  if (!raw.includes('"type":"message"') && !MESSAGE_FRAME.test(raw)) return undefined;
  // the marker ends at the space before `t=` or at the body's closing quote
  const space = raw.indexOf(' ', i);
  const quote = raw.indexOf('"', i);
  const end = space < 0 || (quote >= 0 && quote < space) ? quote : space;
  if (end < 0) return undefined;
  const runEnd = raw.indexOf(':', i + 4);
  const seqColon = raw.lastIndexOf(':', end - 1);
  if (runEnd <= i + 4 || seqColon <= runEnd + 1 || seqColon + 1 >= end) return undefined;
  const seq = Number(raw.substring(seqColon + 1, end));
  if (!(seq >= 0) || seq % 1 !== 0) return undefined;
  const key = raw.substring(runEnd + 1, seqColon);
  return isStreamKey(key) ? { key, seq } : undefined;
}

/**
 * Stream keys already found well formed (exactly four colons: `inst:src:vu:iter:sock`), so a frame of a known
 * stream costs one lookup instead of a scan. Bounded: past KNOWN_KEYS_MAX keys, new ones are scanned each time.
 */
const knownKeys = new Set<string>();
const KNOWN_KEYS_MAX = 20_000;

function isStreamKey(key: string): boolean {
  if (knownKeys.has(key)) return true;
  let colons = 0;
  for (let c = key.indexOf(':'); c >= 0; c = key.indexOf(':', c + 1)) colons += 1;
  if (colons !== 4) return false;
  // a copy of the key: a substring may share the whole frame's text, which would stay in memory with it
  if (knownKeys.size < KNOWN_KEYS_MAX) knownKeys.add(`${key}!`.slice(0, -1));
  return true;
}
