/**
 * The steady-state hypothesis (Chaos Toolkit's term), checked before any fault: every dbman node answers
 * /health/ready with 200, every chat instance and orghub answer /health, and a probe request (login) works.
 * And the readiness watcher that records each dbman node's readiness timeline during the drill.
 */
import type { Component, TargetFile } from '../../harness/target-file.js';

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
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.text()).slice(0, 200) };
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
  checks.push(
    (async (): Promise<Check> => {
      const what = 'probe: login';
      try {
        const res = await fetch(new URL('/api/v1/auth/login', t.authUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tenant_id: t.tenantId, email: t.login.email, password: t.login.password }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string };
        return res.status === 200 && body.access_token
          ? { what, ok: true, detail: '200 with access_token' }
          : { what, ok: false, detail: `${res.status} ${body.error ?? 'no access_token'}` };
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

/**
 * Polls /health/ready of every node every `everyMs` and keeps the changes (plus the first sample) per node.
 * A poll that gets no answer within the interval counts as not ready.
 */
export class ReadinessWatcher {
  readonly timeline: Record<string, ReadinessPoint[]> = {};
  private readonly last: Record<string, boolean | undefined> = {};
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly nodes: Component[],
    private readonly everyMs = 250,
  ) {
    for (const n of nodes) this.timeline[n.name] = [];
  }

  start(): void {
    const tick = async () => {
      if (this.polling) return;
      this.polling = true;
      await Promise.all(
        this.nodes.map(async (n) => {
          const ready = await isReady(n, Math.max(200, this.everyMs * 2));
          if (this.last[n.name] !== ready) {
            this.last[n.name] = ready;
            this.timeline[n.name]!.push({ t: new Date().toISOString(), ready });
          }
        }),
      );
      this.polling = false;
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // close every timeline with its last state, so a reader sees how it ended
    for (const n of this.nodes) {
      const tl = this.timeline[n.name]!;
      if (tl.length) tl.push({ t: new Date().toISOString(), ready: tl.at(-1)!.ready });
    }
  }

  /** The first time at or after `fromMs` the node was seen ready (a ready state already holding at fromMs counts at fromMs). */
  readyAtOrAfter(node: string, fromMs: number): number | null {
    const tl = this.timeline[node] ?? [];
    let state: boolean | undefined;
    for (const p of tl) {
      const t = Date.parse(p.t);
      if (t <= fromMs) {
        state = p.ready;
        continue;
      }
      if (state === true) return fromMs;
      if (p.ready) return t;
      state = p.ready;
    }
    return state === true ? fromMs : null;
  }
}
