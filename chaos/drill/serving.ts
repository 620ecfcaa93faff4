/**
 * Serving, besides readiness: a dbman node that answers /health/ready 200 may still fail requests (the contract:
 * "Ready is not serving": a node back from a freeze whose own dbman client is still in cooldown answers 500). The
 * serving watcher sends every dbman node, on the readiness watcher's 250 ms grid, a real read-only operation of
 * the internal API (`servingProbe` of the target file; default `tenants/list`, which reads the node's database
 * through its own data path): an answer below 500 within the timeout is serving.
 *
 * Pure functions over the two timelines give the spans where a node was **ready but failing** and the moment it
 * was ready AND serving again (recovery is timed to that, not to readiness alone).
 */
import { guardedFetch } from '../../runner/connections.js';
import type { Component, ServingProbe } from '../../runner/target-file.js';
import { DEFAULT_SERVING_PROBE } from '../../runner/target-file.js';
import { PollLoop, probeOf, type Probe } from './poll-loop.js';
import type { StatePoint } from './timeline.js';

export interface ServingPoint {
  t: string;
  serving: boolean;
}

/** One span of a node ready but failing: ISO start, length in seconds (0.1 s steps). */
export interface ReadyButFailingSpan {
  start: string;
  seconds: number;
}

export interface ServingFigures {
  /** Every ready-but-failing span of the node over the whole drill. */
  spans: ReadyButFailingSpan[];
  /** Ready-but-failing seconds from heal to the end of the drill. */
  afterHealS: number;
  /** heal → the node ready AND serving (null: never before the drill ended). */
  servingAfterHealS: number | null;
}

/** The yes/no state of a timeline at `ms` (the last change at or before it); undefined before its first sample. */
function stateAt(tl: readonly StatePoint[], ms: number): boolean | undefined {
  let s: boolean | undefined;
  for (const p of tl) {
    if (Date.parse(p.t) > ms) break;
    s = p.ok;
  }
  return s;
}

/** Every change time of either timeline in [fromMs, toMs], sorted, with fromMs first. */
function changePoints(a: readonly StatePoint[], b: readonly StatePoint[], fromMs: number, toMs: number): number[] {
  const ts = new Set<number>([fromMs]);
  for (const p of [...a, ...b]) {
    const t = Date.parse(p.t);
    if (t > fromMs && t <= toMs) ts.add(t);
  }
  return [...ts].sort((x, y) => x - y);
}

/** Spans (ms) in [fromMs, toMs] where `ready` was true and `serving` false. */
export function readyButFailing(ready: readonly StatePoint[], serving: readonly StatePoint[], fromMs: number, toMs: number): { startMs: number; endMs: number }[] {
  const out: { startMs: number; endMs: number }[] = [];
  let open: number | undefined;
  for (const t of changePoints(ready, serving, fromMs, toMs)) {
    const bad = stateAt(ready, t) === true && stateAt(serving, t) === false;
    if (bad && open === undefined) open = t;
    if (!bad && open !== undefined) {
      out.push({ startMs: open, endMs: t });
      open = undefined;
    }
  }
  if (open !== undefined && toMs > open) out.push({ startMs: open, endMs: toMs });
  return out;
}

/** The first time at or after fromMs both timelines were true (null: never up to their end). */
export function readyAndServingAt(ready: readonly StatePoint[], serving: readonly StatePoint[], fromMs: number): number | null {
  const end = Math.max(fromMs, ...[...ready, ...serving].map((p) => Date.parse(p.t)));
  for (const t of changePoints(ready, serving, fromMs, end)) {
    if (stateAt(ready, t) === true && stateAt(serving, t) === true) return t;
  }
  return null;
}

const tenth = (s: number) => Math.round(s * 10) / 10;

/** A node's serving figures over the drill [startMs, endMs] with its heal time. */
export function servingFigures(ready: readonly StatePoint[], serving: readonly StatePoint[], w: { startMs: number; endMs: number; healAt?: number }): ServingFigures {
  const spans = readyButFailing(ready, serving, w.startMs, w.endMs);
  const afterHeal = w.healAt === undefined ? 0 : spans.reduce((sum, s) => sum + Math.max(0, s.endMs - Math.max(s.startMs, w.healAt!)), 0);
  const back = w.healAt === undefined ? null : readyAndServingAt(ready, serving, w.healAt);
  return {
    spans: spans.map((s) => ({ start: new Date(s.startMs).toISOString(), seconds: tenth((s.endMs - s.startMs) / 1000) })),
    afterHealS: tenth(afterHeal / 1000),
    servingAfterHealS: back === null || w.healAt === undefined ? null : tenth(Math.max(0, back - w.healAt) / 1000),
  };
}

/** The drill's threshold on a healed node: ready-but-failing time after heal within the limit (breaches, named like k6's). */
export function judgeServing(fault: string, node: string, f: ServingFigures, maxReadyButFailingS: number): string[] {
  const who = `{phase:recovery,fault:${fault},node:${node}}`;
  if (f.afterHealS > maxReadyButFailingS) {
    return [`ready_but_failing_time${who}: <=${maxReadyButFailingS}s (observed ${f.afterHealS}s: /health/ready 200 while the serving probe failed)`];
  }
  return [];
}

/**
 * Polls every dbman node's serving probe every `everyMs` (250 ms), each node on its own (a hanging node does not
 * slow the others); no answer within `timeoutMs`, or a 5xx, counts as not serving.
 */
export class ServingWatcher {
  private readonly probes: Probe[];
  private readonly loop: PollLoop;
  private readonly body: string;

  constructor(
    nodes: readonly Component[],
    readonly probe: ServingProbe = DEFAULT_SERVING_PROBE,
    everyMs = 250,
    private readonly timeoutMs = Math.max(1000, everyMs * 4),
  ) {
    this.body = JSON.stringify(probe.body ?? {});
    this.probes = nodes.map((n) => probeOf(n.name, new URL(`/api/internal/v1/db/${probe.operation}`, n.url).href));
    this.loop = new PollLoop(this.probes, everyMs, (p) => this.once(p));
  }

  private async once(p: Probe): Promise<boolean> {
    try {
      const res = await guardedFetch(p.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: this.body, signal: AbortSignal.timeout(this.timeoutMs) });
      await res.body?.cancel();
      return res.status < 500;
    } catch {
      return false;
    }
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** Node → serving changes, as drill.json holds them. */
  get timeline(): Record<string, ServingPoint[]> {
    return Object.fromEntries(this.probes.map((p) => [p.node, p.timeline.points.map((x) => ({ t: x.t, serving: x.ok }))]));
  }

  states(node: string): StatePoint[] | undefined {
    return this.probes.find((p) => p.node === node)?.timeline.points;
  }
}
