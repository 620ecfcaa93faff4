/**
 * Slow consumers in the hot room (issue 16). PURE (no k6, no Node): config, which subscribers are slow, the
 * thresholds, and the fate of a slow subscriber; lib/load.ts hooks it into hotRoomSession.
 *
 * A share of each VU's hot-room subscribers connects through `wsUrl`, a slow path the drill puts in front of chat
 * (a Toxiproxy proxy; during the span a `bandwidth` toxic lets ~1 KB/s through: a phone on a bad network that
 * stops reading). Everything else is unchanged: the healthy subscribers, the publishers and their echo are judged
 * on their own, per phase, against the fan-out SLO; the slow ones are only reported (their fate, judged after the
 * run from their delivery digests: chaos/slow-figures.ts).
 *
 * The slow subscribers run on k6 VUs of their own (scenario `hot_room_slow`, lib/load.ts hotRoomSlowSession): when
 * the throttle ends, megabytes reach each slow socket at once, and a VU draining them falls behind on its timers;
 * had the healthy subscribers and the publisher shared that VU, the correction below would charge the load
 * generator's stall to the server. Every hot-room VU still times its own ticks (`generator_lag`): the drill marks a
 * latency figure of a phase in which a healthy VU lagged past a bound unverified instead of failed.
 *
 * Coordinated omission: a publisher keeps one message in flight, so while the room is stalled it sends nothing,
 * and a stall of 10 s leaves ONE late sample per publisher among hundreds of quick ones: a percentile over the
 * raw samples does not see it. The slow-consumer thresholds therefore judge latencies corrected as HdrHistogram's
 * recordValueWithExpectedInterval does (`coCorrected`): a latency L at a send interval I also counts the messages
 * the schedule would have sent meanwhile, at L−I, L−2I, … (`hot_room_fanout_co`, `hot_room_echo_co`).
 *
 * Evidence, and what it can miss: a server that writes to a stuck socket only blocks once the kernel buffers of
 * that socket are full (on loopback ~4 MB: chat's send buffer plus the proxy's receive buffer). `padBytes` makes
 * each hot-room message big enough to fill them within the span; a server with larger buffers, or a span that
 * pushes fewer bytes than they hold, shows no harm even when its fan-out is serial. The drill prints the bytes
 * pushed to each slow consumer during the span beside the verdict.
 */
import * as z from 'zod/mini';
import type { Phase } from './types.js';
import { hotRoomDurationS, hotRoomTailMs, type HotRoomPart, type Profile } from './profiles.js';
import { k6Duration } from './duration.js';
import type { Parts, ThresholdSpec } from './slo.js';

export interface SlowConsumers {
  /** Share of each VU's hot-room subscribers that connect through the slow path (0 < share < 1). */
  share: number;
  /** The slow path to the room WebSocket, e.g. ws://127.0.0.1:<proxy port>/ws. */
  wsUrl: string;
  /** Filler appended to every hot-room message body, bytes (fills the slow sockets' buffers sooner). */
  padBytes: number;
  /** Overrides the hot room's send interval (a faster hot room fills the buffers sooner). */
  sendIntervalS?: number | undefined;
  /** Healthy subscribers: fan-out p95 limit per phase, ms. */
  fanoutP95Ms: number;
  /** Healthy subscribers: delivery ratio minimum per phase. */
  fanoutDeliveryMin: number;
  /** The hot-room publishers: send → own echo p95 limit per phase, ms. */
  echoP95Ms: number;
}

/** The suite's fan-out SLO (lib/slo.ts BASE_SLO: fan-out p95 500 ms, delivery 99.9 %), applied in every phase. */
export const SLOW_CONSUMER_DEFAULTS = { padBytes: 0, fanoutP95Ms: 500, fanoutDeliveryMin: 0.999, echoP95Ms: 500 } as const;

const Schema = z.strictObject({
  share: z.number().check(z.gt(0), z.lt(1)),
  wsUrl: z.string().check(z.regex(/^wss?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/)),
  padBytes: z.optional(z.number().check(z.int(), z.gte(0), z.lte(200_000))),
  sendIntervalS: z.optional(z.number().check(z.gte(0.05), z.lte(60))),
  fanoutP95Ms: z.optional(z.number().check(z.positive(), z.lte(600_000))),
  fanoutDeliveryMin: z.optional(z.number().check(z.gte(0), z.lte(1))),
  echoP95Ms: z.optional(z.number().check(z.positive(), z.lte(600_000))),
});

export const SLOW_CONSUMERS_ALLOWED =
  'a JSON object {"share": 0<x<1, "wsUrl": "ws://host:port/ws", "padBytes"?: 0..200000, "sendIntervalS"?: 0.05..60, "fanoutP95Ms"?, "fanoutDeliveryMin"?, "echoP95Ms"?}';

/** Parses SLOW_CONSUMERS; undefined when unset; a string (what is wrong) when bad. */
export function parseSlowConsumers(raw: string | undefined): SlowConsumers | undefined | { error: string } {
  if (raw === undefined || raw.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return { error: SLOW_CONSUMERS_ALLOWED };
  }
  const r = z.safeParse(Schema, doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { error: `${SLOW_CONSUMERS_ALLOWED}${issue && issue.path.length ? ` (at ${issue.path.join('.')})` : ''}` };
  }
  return { ...SLOW_CONSUMER_DEFAULTS, ...r.data };
}

/** Slow subscribers per VU: the share rounded, at least 1, and at least one healthy subscriber left. */
export function slowPerVu(subscribersPerVu: number, share: number): number {
  if (subscribersPerVu < 2) return 0;
  return Math.min(subscribersPerVu - 1, Math.max(1, Math.round(subscribersPerVu * share)));
}

/** The hot room with the slow-consumer overrides (send interval; message count kept to the same span). */
export function withSlowConsumers(p: Profile, sc: SlowConsumers): Profile {
  if (!p.hotRoom || sc.sendIntervalS === undefined) return p;
  const h: HotRoomPart = p.hotRoom;
  const spanS = h.messagesPerPublisher * h.sendIntervalS;
  return { ...p, hotRoom: { ...h, sendIntervalS: sc.sendIntervalS, messagesPerPublisher: Math.max(1, Math.floor(spanS / sc.sendIntervalS)) } };
}

/**
 * A latency corrected for coordinated omission (HdrHistogram's recordValueWithExpectedInterval): L, then L−I,
 * L−2I, … while above I, at most `cap` values. Offsets are the k·I after the real send each value stands for.
 */
export function coCorrected(latencyMs: number, intervalMs: number, cap = 600): Array<{ value: number; offsetMs: number }> {
  const out = [{ value: latencyMs, offsetMs: 0 }];
  if (!(intervalMs > 0)) return out;
  for (let k = 1, v = latencyMs - intervalMs; v > intervalMs && k <= cap; k++, v -= intervalMs) out.push({ value: v, offsetMs: k * intervalMs });
  return out;
}

/** The k6 scenario of the slow subscribers: one VU per hot-room VU, as long as the hot room (and its deadline). */
export function slowConsumerScenarios(p: Profile, sc: SlowConsumers | undefined): Record<string, Record<string, unknown>> {
  const h = p.hotRoom;
  if (!h || !sc || slowPerVu(h.subscribersPerVu, sc.share) === 0) return {};
  const maxS = hotRoomDurationS(h) + 5 + hotRoomTailMs(h) / 1000 + h.graceS + 30;
  return { hot_room_slow: { executor: 'per-vu-iterations', vus: h.vus, iterations: 1, maxDuration: k6Duration(maxS), gracefulStop: '10s', exec: 'hotRoomSlowSession' } };
}

/** The filler of a padded hot-room message body. */
export function padding(padBytes: number): string {
  return padBytes > 0 ? `load test message ${'x'.repeat(padBytes)}` : 'load test message';
}

/**
 * Per phase: the healthy subscribers' fan-out p95 and delivery, and the publishers' echo p95, the latencies
 * corrected for coordinated omission. Every one must have samples: a phase without any fails.
 */
export function slowConsumerSpecs(sc: SlowConsumers, parts: Parts, phases: readonly Phase[]): ThresholdSpec[] {
  if (!parts.hotRoom) return [];
  const out: ThresholdSpec[] = [];
  for (const phase of phases) {
    const healthy = { phase, consumer: 'healthy' };
    const base = { phase, abortOnFail: false } as const;
    out.push(
      { ...base, id: `slow.${phase}.healthy_fanout_p95`, metric: 'hot_room_fanout_co', tags: healthy, stat: 'p(95)', op: '<=', limit: sc.fanoutP95Ms, unit: 'ms', meaning: `${phase} phase: hot room fan-out p95 at the healthy subscribers, corrected for coordinated omission (slow consumers present), at most ${sc.fanoutP95Ms} ms` },
      { ...base, id: `slow.${phase}.healthy_fanout_delivery`, metric: 'ws_fanout_delivery', tags: healthy, stat: 'rate', op: '>=', limit: sc.fanoutDeliveryMin, unit: 'ratio', meaning: `${phase} phase: acknowledged hot-room messages that reached the healthy subscribers, at least ${sc.fanoutDeliveryMin * 100} %` },
      { ...base, id: `slow.${phase}.echo_p95`, metric: 'hot_room_echo_co', tags: { phase }, stat: 'p(95)', op: '<=', limit: sc.echoP95Ms, unit: 'ms', meaning: `${phase} phase: hot room publishers' send to own echo (or give-up) p95, corrected for coordinated omission (slow consumers present), at most ${sc.echoP95Ms} ms` },
    );
  }
  return out;
}

/**
 * The whole-run hot-room fan-out thresholds narrowed to the healthy subscribers: the slow ones are there to be
 * slow; their fate is reported, not judged.
 */
export function healthyFanoutOnly(specs: readonly ThresholdSpec[]): ThresholdSpec[] {
  return specs.map((s) =>
    (s.metric === 'ws_fanout_latency' || s.metric === 'ws_fanout_delivery') && s.tags.consumer === undefined
      ? { ...s, tags: { ...s.tags, consumer: 'healthy' }, meaning: `${s.meaning} (healthy subscribers; slow consumers present)` }
      : s,
  );
}

export type SlowFate = 'caught-up' | 'dropped' | 'behind' | 'never-opened';

/**
 * What became of one slow subscriber by the end of its session: `dropped` the server (or the network) closed its
 * socket at least once; `behind` connected throughout but still missing acknowledged hot-room messages (those
 * acknowledged while it was connected); `caught-up` it got every one of them in the end; `never-opened`.
 */
export function slowFate<T>(s: { opened: boolean; closedByPeer: number; ackedSeqs: readonly T[]; received: ReadonlySet<T> }): SlowFate {
  if (!s.opened) return 'never-opened';
  if (s.closedByPeer > 0) return 'dropped';
  return s.ackedSeqs.every((q) => s.received.has(q)) ? 'caught-up' : 'behind';
}
