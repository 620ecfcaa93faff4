/**
 * WebSocket figures of a drill, from k6's raw samples (every sample carries its `phase` tag):
 *
 *   per phase       hot-room fan-out latency p95 (`ws_fanout_latency`) and delivery ratio (`ws_fanout_delivery`),
 *                   unplanned reconnects (`ws_reconnects`) and messages missed while reconnecting
 *                   (`ws_missed_messages`): baseline vs fault vs recovery (a Redis slowdown shows here); the
 *                   hot-room publishers' scheduled messages sent or skipped (`hot_room_sends_skipped`: the fault
 *                   phase's fan-out figures rest on the messages sent)
 *   per chat fault  from inject to the next fault's inject (or the end of the run): reconnects, reconnect time
 *                   (`ws_reconnect_ms`: unplanned close → the new socket open) p50/p95/max, messages missed
 *
 * "No samples" is its own state (count 0, figures null), never a pass: a chat fault whose clients reported no
 * reconnect fails its judgement, whether no socket reconnected or the scenario does not report reconnects.
 */
import { forEachPoint } from '../runner/raw.js';
import { percentile } from './figures.js';

export const WS_METRICS = {
  fanoutLatency: 'ws_fanout_latency',
  fanoutDelivery: 'ws_fanout_delivery',
  reconnects: 'ws_reconnects',
  reconnectMs: 'ws_reconnect_ms',
  missed: 'ws_missed_messages',
  publisherSlots: 'hot_room_sends_skipped',
} as const;

export interface WsSample {
  metric: string;
  /** Epoch ms. */
  at: number;
  value: number;
  phase?: string;
}

export interface WsPhaseFigures {
  fanoutSamples: number;
  fanoutP95Ms: number | null;
  deliverySamples: number;
  /** Share of deliveries that arrived (null: no samples). */
  deliveryRatio: number | null;
  reconnects: number;
  missedMessages: number;
  /** Hot-room publisher slots counted (sent or skipped) and those skipped: the offered load of the phase. */
  publisherSlots: number;
  publisherSkipped: number;
}

export interface ReconnectFigures {
  /** Sum of `ws_reconnects` in the window. */
  reconnects: number;
  /** Samples of `ws_reconnect_ms` in the window (0: no samples). */
  reconnectSamples: number;
  reconnectP50Ms: number | null;
  reconnectP95Ms: number | null;
  reconnectMaxMs: number | null;
  missedMessages: number;
}

const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

export function wsByPhase(samples: Iterable<WsSample>): Record<string, WsPhaseFigures> {
  const acc = new Map<string, { lat: number[]; del: number[]; reconnects: number; missed: number; slots: number; skipped: number }>();
  for (const s of samples) {
    const ph = s.phase ?? 'untagged';
    let a = acc.get(ph);
    if (!a) acc.set(ph, (a = { lat: [], del: [], reconnects: 0, missed: 0, slots: 0, skipped: 0 }));
    if (s.metric === WS_METRICS.fanoutLatency) a.lat.push(s.value);
    else if (s.metric === WS_METRICS.fanoutDelivery) a.del.push(s.value);
    else if (s.metric === WS_METRICS.reconnects) a.reconnects += s.value;
    else if (s.metric === WS_METRICS.missed) a.missed += s.value;
    else if (s.metric === WS_METRICS.publisherSlots) {
      a.slots += 1;
      a.skipped += s.value;
    }
  }
  const out: Record<string, WsPhaseFigures> = {};
  for (const [ph, a] of acc) {
    out[ph] = {
      fanoutSamples: a.lat.length,
      fanoutP95Ms: round1(percentile(a.lat, 95)),
      deliverySamples: a.del.length,
      deliveryRatio: a.del.length ? a.del.filter((v) => v > 0).length / a.del.length : null,
      reconnects: a.reconnects,
      missedMessages: a.missed,
      publisherSlots: a.slots,
      publisherSkipped: a.skipped,
    };
  }
  return out;
}

/** The reconnect figures of samples taken in [fromMs, toMs). */
export function reconnectFigures(samples: readonly WsSample[], fromMs: number, toMs: number): ReconnectFigures {
  const inWindow = samples.filter((s) => s.at >= fromMs && s.at < toMs);
  const times = inWindow.filter((s) => s.metric === WS_METRICS.reconnectMs).map((s) => s.value);
  const sum = (metric: string) => inWindow.filter((s) => s.metric === metric).reduce((n, s) => n + s.value, 0);
  return {
    reconnects: sum(WS_METRICS.reconnects),
    reconnectSamples: times.length,
    reconnectP50Ms: round1(percentile(times, 50)),
    reconnectP95Ms: round1(percentile(times, 95)),
    reconnectMaxMs: round1(times.length ? Math.max(...times) : null),
    missedMessages: sum(WS_METRICS.missed),
  };
}

/**
 * The drill thresholds of a fault on a chat instance, named like k6's: `ws_reconnects{phase:fault,...}` (clients
 * reconnected: samples seen) and `ws_reconnect_p95{phase:fault,...}` (within `maxReconnectP95Ms`).
 */
export function judgeReconnects(fault: string, node: string, r: ReconnectFigures, maxReconnectP95Ms: number): string[] {
  const who = `{phase:fault,fault:${fault},node:${node}}`;
  if (r.reconnectSamples === 0 || r.reconnects === 0) {
    return [
      `ws_reconnects${who}: >0 (observed no samples: ${r.reconnects} reconnects, ${r.reconnectSamples} reconnect times; no socket reconnected, or the scenario does not report ws_reconnects / ws_reconnect_ms)`,
    ];
  }
  if (r.reconnectP95Ms! > maxReconnectP95Ms) return [`ws_reconnect_p95${who}: <=${maxReconnectP95Ms}ms (observed ${r.reconnectP95Ms}ms)`];
  return [];
}

/** Reads the WS samples of k6's raw output (NDJSON, gzipped or not). */
export async function readWsSamples(rawPath: string): Promise<WsSample[]> {
  const out: WsSample[] = [];
  await forEachPoint(rawPath, (p) => out.push({ metric: p.metric, at: Date.parse(p.time), value: p.value, phase: p.tags.phase }), new Set(Object.values(WS_METRICS)));
  return out;
}
