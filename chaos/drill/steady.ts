/**
 * The steady-state hypothesis (Chaos Toolkit's term), checked before any fault: every dbman node answers
 * /health/ready with 200, every chat, session and tenanthub instance and orghub answer /health, and a probe request (login) works.
 * And the readiness watcher that records each dbman node's readiness and liveness timelines (and each chat
 * instance's health) during the drill.
 */
import type { Component, TargetFile } from '../../runner/target-file.js';
import { PollLoop, probeOf, type Probe } from './poll-loop.js';
import { firstAtOrAfter, type StatePoint } from './timeline.js';
import { guardedFetch, redirectNotFollowed } from '../../runner/connections.js';

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

function describeError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

async function get(url: string, timeoutMs: number): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await guardedFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = (await res.text()).slice(0, 200);
    return { status: res.status, body: redirectNotFollowed(res) ?? text };
  } catch (err) {
    return { error: describeError(err, timeoutMs) };
  }
}

export async function isReady(node: Component, timeoutMs = 1000): Promise<boolean> {
  const r = await get(new URL('/health/ready', node.url).href, timeoutMs);
  return 'status' in r && r.status === 200;
}

export async function steadyState(t: TargetFile, timeoutMs = 3000): Promise<Check[]> {
  const checks: Promise<Check>[] = [];
  const health = (c: Component, path: string) =>
    get(new URL(path, c.url).href, timeoutMs).then((r) => ({
      what: `${c.name} ${path}`,
      ok: 'status' in r && r.status === 200,
      detail: 'status' in r ? `${r.status} ${r.body.trim()}` : r.error,
    }));
  for (const n of t.dbmanNodes) checks.push(health(n, '/health/ready'));
  for (const c of t.chatInstances) checks.push(health(c, '/health'));
  if (t.orghub) checks.push(health(t.orghub, '/health'));
  for (const c of [...t.sessionInstances, ...t.tenanthubInstances]) checks.push(health(c, '/health'));
  checks.push(
    (async (): Promise<Check> => {
      const what = 'probe: login';
      try {
        const res = await guardedFetch(new URL('/api/v1/auth/login', t.authUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tenant_id: t.tenantId, email: t.login.email, password: t.login.password }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string };
        return res.status === 200 && body.access_token
          ? { what, ok: true, detail: '200 with access_token' }
          : { what, ok: false, detail: `${res.status} ${redirectNotFollowed(res) ?? body.error ?? 'no access_token'}` };
      } catch (err) {
        return { what, ok: false, detail: describeError(err, timeoutMs) };
      }
    })(),
  );
  if (t.dbmanNodes.length === 0) checks.push(Promise.resolve({ what: 'dbman nodes', ok: false, detail: 'the target file lists none' }));
  return Promise.all(checks);
}

export interface ReadinessPoint {
  t: string;
  ready: boolean;
}

export interface LivenessPoint {
  t: string;
  live: boolean;
}

/**
 * Polls, every `everyMs` (250 ms), /health/ready AND /health/live of every dbman node and /health of every chat
 * instance, and keeps the changes (plus the first sample) per component: `readiness` (dbman ready, chat health)
 * and `liveness` (dbman live). Each endpoint is polled on its own, so a hanging one does not slow the others; a
 * poll that gets no answer within `timeoutMs` (1 s: a busy 2-core machine must not pass for a dead node) counts
 * as not ready (not live).
 */
export class ReadinessWatcher {
  private readonly ready: Probe[] = [];
  private readonly live: Probe[] = [];
  private readonly loop: PollLoop;

  constructor(
    parts: { dbman: readonly Component[]; chat?: readonly Component[] },
    everyMs = 250,
    private readonly timeoutMs = Math.max(1000, everyMs * 4),
  ) {
    const probe = (c: Component, path: string): Probe => probeOf(c.name, new URL(path, c.url).href);
    for (const n of parts.dbman) {
      this.ready.push(probe(n, '/health/ready'));
      this.live.push(probe(n, '/health/live'));
    }
    for (const c of parts.chat ?? []) this.ready.push(probe(c, '/health'));
    this.loop = new PollLoop([...this.ready, ...this.live], everyMs, async (p) => {
      const r = await get(p.url, this.timeoutMs);
      return 'status' in r && r.status === 200;
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** Component name → readiness changes (dbman /health/ready, chat /health), as drill.json holds them. */
  get timeline(): Record<string, ReadinessPoint[]> {
    return Object.fromEntries(this.ready.map((p) => [p.node, p.timeline.points.map((x) => ({ t: x.t, ready: x.ok }))]));
  }

  /** dbman node name → liveness changes (/health/live). */
  get liveness(): Record<string, LivenessPoint[]> {
    return Object.fromEntries(this.live.map((p) => [p.node, p.timeline.points.map((x) => ({ t: x.t, live: x.ok }))]));
  }

  /** The raw timelines of one component: ready (or chat health) and live (dbman only); undefined when not watched. */
  states(node: string): { ready?: StatePoint[]; live?: StatePoint[] } {
    return { ready: this.ready.find((p) => p.node === node)?.timeline.points, live: this.live.find((p) => p.node === node)?.timeline.points };
  }

  /**
   * The first time at or after `fromMs` the component was seen ready (a ready state already holding at fromMs
   * counts at fromMs); null when never, undefined when the watcher does not watch it (redis, a balancer).
   */
  readyAtOrAfter(node: string, fromMs: number): number | null | undefined {
    const tl = this.states(node).ready;
    return tl ? firstAtOrAfter(tl, fromMs, true) : undefined;
  }
}
