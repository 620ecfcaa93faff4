/**
 * Slow-consumer figures of a drill, from k6's raw samples: per phase the fan-out p95 at the healthy and at the
 * slow subscribers (`ws_fanout_latency{consumer:…}`, and the healthy ones corrected for coordinated omission,
 * `hot_room_fanout_co`: what the thresholds judge), the healthy subscribers' delivery ratio, the hot-room
 * publishers' echo p95 (`hot_room_echo_co`), what became of each slow subscriber (its delivery digest, sent
 * with its `ws_session_ok`, against every hot-room message acknowledged while it was connected, lib/slow-consumers.ts
 * slowFate; the slow subscribers run on VUs of their own, which do not know the publishers' acknowledgements),
 * the load generator's own lag per phase (`generator_lag`: the hot-room VUs' late ticks), and the bytes the span pushed at each slow subscriber (hot-room messages sent in the
 * fault phase × their size): a server whose buffers hold more than that per socket shows no harm in this drill
 * even when its fan-out is serial, and the figures say so. The thresholds themselves are k6's
 * (lib/slow-consumers.ts); these figures explain them.
 */
import { forEachPoint, type RawPoint } from '../runner/raw.js';
import type { ThresholdResult } from '../runner/summary.js';
import { decodeDigest, digestHas, streamKey } from '../lib/delivery-digest.js';
import { DELIVERY_MARGIN_MS } from '../lib/fanout.js';
import { parseBody } from '../lib/marker.js';
import { parseGaps } from '../lib/reconnect.js';
import { slowFate } from '../lib/slow-consumers.js';
import { percentile } from './figures.js';

export interface SlowPhaseFigures {
  /** Raw samples (ws_fanout_latency) and corrected for coordinated omission (hot_room_fanout_co: what is judged). */
  healthyFanoutP95Ms: number | null;
  healthyFanoutSamples: number;
  healthyFanoutCoP95Ms: number | null;
  healthyFanoutCoSamples: number;
  healthyDeliveryRatio: number | null;
  healthyDeliverySamples: number;
  slowFanoutP95Ms: number | null;
  slowFanoutSamples: number;
  echoP95Ms: number | null;
  echoSamples: number;
  /** The longest stall of a healthy hot-room VU's event loop (its 100 ms tick this late), ms; null without samples. */
  healthyGeneratorLagMaxMs: number | null;
  /** Ticks of the healthy hot-room VUs timed in this phase. */
  generatorLagSamples: number;
  /** The same at the slow subscribers' own VUs (evidence only: nothing is judged there). */
  slowGeneratorLagMaxMs: number | null;
}

export interface SlowConsumerFigures {
  phases: Record<string, SlowPhaseFigures>;
  /** Slow subscribers by fate at their end: caught-up, dropped, behind, never-opened. */
  fates: Record<string, number>;
  /** Hot-room messages sent during the span and echoed (fault phase, every publisher): each slow subscriber was sent all of them. */
  spanMessages: number;
  /** spanMessages × bytes per fan-out frame (padding + ~450 bytes of frame and marker). */
  spanBytesPerSlowConsumer: number;
}

const FRAME_OVERHEAD_BYTES = 450;
const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

interface Acc {
  healthy: number[];
  healthyCo: number[];
  slow: number[];
  echo: number[];
  delivered: number;
  judged: number;
  lagMax: number | null;
  lagSamples: number;
  slowLagMax: number | null;
}

const maxOf = (a: number | null, v: number): number => (a === null || v > a ? v : a);

/** One acknowledged hot-room message: `key#seq` and when its acknowledgement came. */
interface Ack {
  id: string;
  atMs: number;
}

/** An acknowledged hot-room message (a store answered by its echo, or a retry answered `duplicate`). */
function ackOf(p: RawPoint): Ack | undefined {
  if (p.tags.scenario !== 'hot_room' || p.metadata?.outcome !== 'acked' || (p.metric === 'message_store_success' && p.value !== 1)) return undefined;
  const m = parseBody(p.metadata.marker);
  return m ? { id: `${streamKey(m.marker)}#${m.marker.seq}`, atMs: Date.parse(p.time) } : undefined;
}

/** Slow subscribers' fates: every message acknowledged while the socket was connected must be in its digest. */
function slowFates(sessions: readonly RawPoint[], acks: readonly Ack[]): Record<string, number> {
  const fates: Record<string, number> = {};
  for (const s of sessions) {
    const md = s.metadata ?? {};
    const opened = Number(md.opened_ms ?? 0);
    const closed = Number(md.closed_ms ?? 0);
    const digest = typeof md.digest === 'string' ? decodeDigest(md.digest) : undefined;
    const judged = acks.filter((a) => a.atMs >= opened + DELIVERY_MARGIN_MS && a.atMs <= closed - DELIVERY_MARGIN_MS).map((a) => a.id);
    const received = new Set(judged.filter((id) => {
      const at = id.lastIndexOf('#');
      return digest !== undefined && digestHas(digest, id.slice(0, at), Number(id.slice(at + 1)));
    }));
    const fate = slowFate({ opened: opened > 0, closedByPeer: parseGaps(String(md.gaps ?? '')).length, ackedSeqs: judged, received });
    fates[fate] = (fates[fate] ?? 0) + 1;
  }
  return fates;
}

export async function slowConsumerFigures(rawPath: string, padBytes: number): Promise<SlowConsumerFigures> {
  const acc = new Map<string, Acc>();
  const acks: Ack[] = [];
  const slowSessions: RawPoint[] = [];
  let spanEchoes = 0;
  const at = (ph: string) => {
    let a = acc.get(ph);
    if (!a) acc.set(ph, (a = { healthy: [], healthyCo: [], slow: [], echo: [], delivered: 0, judged: 0, lagMax: null, lagSamples: 0, slowLagMax: null }));
    return a;
  };
  await forEachPoint(
    rawPath,
    (p) => {
      const ph = p.tags.phase ?? 'untagged';
      if (p.metric === 'message_store_success' || p.metric === 'ws_ack_via_duplicate') {
        const a = ackOf(p);
        if (a) acks.push(a);
      } else if (p.metric === 'ws_session_ok' && p.tags.scenario === 'hot_room_slow') slowSessions.push(p);
      else if (p.metric === 'generator_lag' && p.tags.scenario === 'hot_room') {
        at(ph).lagMax = maxOf(at(ph).lagMax, p.value);
        at(ph).lagSamples += 1;
      } else if (p.metric === 'generator_lag' && p.tags.scenario === 'hot_room_slow') at(ph).slowLagMax = maxOf(at(ph).slowLagMax, p.value);
      else if (p.metric === 'ws_fanout_latency' && p.tags.consumer === 'healthy') at(ph).healthy.push(p.value);
      else if (p.metric === 'ws_fanout_latency' && p.tags.consumer === 'slow') at(ph).slow.push(p.value);
      else if (p.metric === 'hot_room_echo_co') at(ph).echo.push(p.value);
      else if (p.metric === 'ws_delivery_latency' && p.tags.scenario === 'hot_room' && ph === 'fault') spanEchoes += 1;
      else if (p.metric === 'hot_room_fanout_co' && p.tags.consumer === 'healthy') at(ph).healthyCo.push(p.value);
      else if (p.metric === 'ws_fanout_delivery' && p.tags.consumer === 'healthy') {
        at(ph).judged += 1;
        if (p.value > 0) at(ph).delivered += 1;
      }
    },
    new Set(['message_store_success', 'ws_ack_via_duplicate', 'ws_session_ok', 'generator_lag', 'ws_fanout_latency', 'hot_room_fanout_co', 'hot_room_echo_co', 'ws_delivery_latency', 'ws_fanout_delivery']),
  );
  const phases: Record<string, SlowPhaseFigures> = {};
  for (const [ph, a] of acc) {
    phases[ph] = {
      healthyFanoutP95Ms: round1(percentile(a.healthy, 95)),
      healthyFanoutSamples: a.healthy.length,
      healthyFanoutCoP95Ms: round1(percentile(a.healthyCo, 95)),
      healthyFanoutCoSamples: a.healthyCo.length,
      healthyDeliveryRatio: a.judged ? a.delivered / a.judged : null,
      healthyDeliverySamples: a.judged,
      slowFanoutP95Ms: round1(percentile(a.slow, 95)),
      slowFanoutSamples: a.slow.length,
      echoP95Ms: round1(percentile(a.echo, 95)),
      echoSamples: a.echo.length,
      healthyGeneratorLagMaxMs: round1(a.lagMax),
      generatorLagSamples: a.lagSamples,
      slowGeneratorLagMaxMs: round1(a.slowLagMax),
    };
  }
  const spanMessages = spanEchoes;
  return { phases, fates: slowFates(slowSessions, acks), spanMessages, spanBytesPerSlowConsumer: spanMessages * (padBytes + FRAME_OVERHEAD_BYTES) };
}

/** Lines for the drill's printout. */
export function formatSlowConsumers(f: SlowConsumerFigures): string[] {
  const ms = (v: number | null) => (v === null ? 'no samples' : `${v} ms`);
  const lines = ['slow consumers:'];
  for (const ph of ['baseline', 'fault', 'recovery']) {
    const p = f.phases[ph];
    if (!p) continue;
    const del = p.healthyDeliveryRatio === null ? 'no samples' : `${(p.healthyDeliveryRatio * 100).toFixed(2)} % of ${p.healthyDeliverySamples}`;
    lines.push(`  ${ph.padEnd(8)} healthy fan-out p95 ${ms(p.healthyFanoutP95Ms)} (${p.healthyFanoutSamples}; corrected for coordinated omission ${ms(p.healthyFanoutCoP95Ms)}, ${p.healthyFanoutCoSamples}), delivery ${del}; echo p95 ${ms(p.echoP95Ms)} (${p.echoSamples}); slow fan-out p95 ${ms(p.slowFanoutP95Ms)} (${p.slowFanoutSamples}); load generator lag max ${ms(p.healthyGeneratorLagMaxMs)} at the healthy VUs (${p.generatorLagSamples} ticks), ${ms(p.slowGeneratorLagMaxMs)} at the slow ones`);
  }
  const fates = Object.entries(f.fates).map(([k, v]) => `${v} ${k}`).join(', ') || 'none reported';
  lines.push(`  slow subscribers at their end: ${fates}`);
  lines.push(`  the span pushed ~${(f.spanBytesPerSlowConsumer / 1e6).toFixed(1)} MB (${f.spanMessages} messages) at each slow subscriber; a server that buffers more than that per socket shows no harm here`);
  return lines;
}

/** The slow-consumer latency thresholds a lagging load generator can distort: per phase, healthy fan-out and echo. */
const LAG_SENSITIVE = /^slow\.(baseline|fault|recovery)\.(healthy_fanout_p95|echo_p95)$/;

/**
 * A failed per-phase latency figure of the slow-consumer drill taken while a healthy hot-room VU's event loop
 * stalled longer than half the figure's limit becomes `unverified: the load generator lagged N ms`: every receipt
 * after such a stall is late by the stall, and the correction for coordinated omission multiplies it, so the
 * breach may be the generator's, not the server's. Not a pass either: the verdict stays FAIL, naming the generator.
 * A phase without lag samples is not amended (its failure stands), nor is a breach the lag cannot explain: a
 * latency is a receipt minus a send stamped on VUs of the same process, so a stall of L makes it at most 2L too
 * long (the sender's stall before its write, the receiver's before its read; the correction only adds values below
 * the sample it corrects); a figure above limit + 2L is the server's even with the generator's worst share removed.
 */
export function unverifiedByLag(thresholds: readonly ThresholdResult[], f: SlowConsumerFigures): ThresholdResult[] {
  return thresholds.map((t) => {
    const m = t.id ? LAG_SENSITIVE.exec(t.id) : null;
    const lag = m ? f.phases[m[1]!]?.healthyGeneratorLagMaxMs : null;
    if (t.result !== 'fail' || lag === null || lag === undefined || !(lag > t.limit / 2)) return t;
    if (t.observed !== null && t.observed > t.limit + 2 * lag) return t;
    return { ...t, result: 'unverified', reason: `the load generator lagged ${Math.round(lag)} ms in the ${m![1]} phase (more than half the ${t.limit} ms limit, and enough to explain the breach): the figure may be the generator's, not the server's` };
  });
}
