/**
 * Slow-consumer figures of a drill, from k6's raw samples: per phase the fan-out p95 at the healthy and at the
 * slow subscribers (`ws_fanout_latency{consumer:…}`, and the healthy ones corrected for coordinated omission,
 * `hot_room_fanout_co`: what the thresholds judge), the healthy subscribers' delivery ratio, the hot-room
 * publishers' echo p95 (`hot_room_echo_co`), what became of each slow subscriber
 * (`slow_consumer_fate`), and the bytes the span pushed at each slow subscriber (hot-room messages sent in the
 * fault phase × their size): a server whose buffers hold more than that per socket shows no harm in this drill
 * even when its fan-out is serial, and the figures say so. The thresholds themselves are k6's
 * (lib/slow-consumers.ts); these figures explain them.
 */
import { forEachPoint } from '../runner/raw.js';
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
}

export async function slowConsumerFigures(rawPath: string, padBytes: number): Promise<SlowConsumerFigures> {
  const acc = new Map<string, Acc>();
  const fates: Record<string, number> = {};
  let spanEchoes = 0;
  const at = (ph: string) => {
    let a = acc.get(ph);
    if (!a) acc.set(ph, (a = { healthy: [], healthyCo: [], slow: [], echo: [], delivered: 0, judged: 0 }));
    return a;
  };
  await forEachPoint(
    rawPath,
    (p) => {
      const ph = p.tags.phase ?? 'untagged';
      if (p.metric === 'slow_consumer_fate') fates[p.tags.fate ?? 'unknown'] = (fates[p.tags.fate ?? 'unknown'] ?? 0) + p.value;
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
    new Set(['slow_consumer_fate', 'ws_fanout_latency', 'hot_room_fanout_co', 'hot_room_echo_co', 'ws_delivery_latency', 'ws_fanout_delivery']),
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
    };
  }
  const spanMessages = spanEchoes;
  return { phases, fates, spanMessages, spanBytesPerSlowConsumer: spanMessages * (padBytes + FRAME_OVERHEAD_BYTES) };
}

/** Lines for the drill's printout. */
export function formatSlowConsumers(f: SlowConsumerFigures): string[] {
  const ms = (v: number | null) => (v === null ? 'no samples' : `${v} ms`);
  const lines = ['slow consumers:'];
  for (const ph of ['baseline', 'fault', 'recovery']) {
    const p = f.phases[ph];
    if (!p) continue;
    const del = p.healthyDeliveryRatio === null ? 'no samples' : `${(p.healthyDeliveryRatio * 100).toFixed(2)} % of ${p.healthyDeliverySamples}`;
    lines.push(`  ${ph.padEnd(8)} healthy fan-out p95 ${ms(p.healthyFanoutP95Ms)} (${p.healthyFanoutSamples}; corrected for coordinated omission ${ms(p.healthyFanoutCoP95Ms)}, ${p.healthyFanoutCoSamples}), delivery ${del}; echo p95 ${ms(p.echoP95Ms)} (${p.echoSamples}); slow fan-out p95 ${ms(p.slowFanoutP95Ms)} (${p.slowFanoutSamples})`);
  }
  const fates = Object.entries(f.fates).map(([k, v]) => `${v} ${k}`).join(', ') || 'none reported';
  lines.push(`  slow subscribers at their end: ${fates}`);
  lines.push(`  the span pushed ~${(f.spanBytesPerSlowConsumer / 1e6).toFixed(1)} MB (${f.spanMessages} messages) at each slow subscriber; a server that buffers more than that per socket shows no harm here`);
  return lines;
}
