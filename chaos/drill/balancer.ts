/**
 * The balancer watcher: polls a load balancer's stats page (HAProxy's CSV: `statsUrl` + `;csv`) throughout a
 * drill and keeps, per backend server, when the balancer had it in traffic (status UP, including "UP 1/3" while
 * it counts failed checks) and when it took it out (DOWN, MAINT, NOLB, ...). A poll that fails records nothing.
 */
import type { Component, LoadBalancer } from '../../runner/target-file.js';
import { TimelineRecorder, type StatePoint } from './timeline.js';
import { guardedFetch } from '../../runner/connections.js';

export interface BalancerServer {
  /** Backend (proxy) name and server name, as HAProxy reports them. */
  backend: string;
  server: string;
  /** The server's address (host:port) when the stats page gives it. */
  addr?: string;
  status: string;
  /** Sessions (requests or WS tunnels) the server got so far (`stot`). */
  sessions: number;
}

/** Parses HAProxy's stats CSV (header line `# pxname,svname,...`) into its server rows (not FRONTEND/BACKEND). */
export function parseHaproxyCsv(text: string): BalancerServer[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (!header?.startsWith('# ')) throw new Error('not HAProxy stats CSV (no "# pxname,svname,..." header)');
  const cols = header.slice(2).split(',');
  const at = (name: string) => cols.indexOf(name);
  const [px, sv, st, ad, stot] = [at('pxname'), at('svname'), at('status'), at('addr'), at('stot')];
  if (px < 0 || sv < 0 || st < 0) throw new Error('HAProxy stats CSV without pxname, svname or status');
  return lines
    .map((l) => l.split(','))
    .filter((f) => f[sv] !== 'FRONTEND' && f[sv] !== 'BACKEND')
    .map((f) => ({ backend: f[px]!, server: f[sv]!, status: f[st]!, sessions: Number(f[stot] ?? 0), ...(ad >= 0 && f[ad] ? { addr: f[ad] } : {}) }));
}

/** Whether a server status means the balancer sends it traffic. */
export const inTraffic = (status: string): boolean => /^UP\b/.test(status);

/** The stats-page server that is `node`: same name, else same host:port as the node's URL. */
export function serverOf(servers: readonly BalancerServer[], node: Component): BalancerServer | undefined {
  const u = new URL(node.url);
  return servers.find((s) => s.server === node.name) ?? servers.find((s) => s.addr === `${u.hostname}:${u.port}`);
}

export interface BalancerPoint {
  t: string;
  inTraffic: boolean;
}

export class BalancerWatcher {
  private readonly recorders = new Map<string, TimelineRecorder>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** The last poll's error, when polls fail (reported beside the timeline). */
  lastError: string | undefined;

  constructor(
    private readonly balancer: LoadBalancer,
    private readonly nodes: readonly Component[],
    private readonly everyMs = 500,
  ) {
    if (!balancer.statsUrl) throw new Error(`load balancer ${balancer.name} has no statsUrl`);
    for (const n of nodes) this.recorders.set(n.name, new TimelineRecorder());
  }

  private async poll(): Promise<void> {
    try {
      const res = await guardedFetch(`${this.balancer.statsUrl};csv`, { signal: AbortSignal.timeout(Math.max(1000, this.everyMs * 2)) });
      if (!res.ok) throw new Error(`${res.status} from ${this.balancer.statsUrl};csv`);
      const servers = parseHaproxyCsv(await res.text());
      const at = new Date();
      for (const n of this.nodes) {
        const s = serverOf(servers, n);
        if (s) this.recorders.get(n.name)!.record(inTraffic(s.status), at);
      }
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  start(): void {
    const tick = () => {
      if (this.inFlight) return;
      this.inFlight = true;
      void this.poll().finally(() => (this.inFlight = false));
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const r of this.recorders.values()) r.close();
  }

  /** Node name → when the balancer had it in traffic, as drill.json holds it. */
  get timeline(): Record<string, BalancerPoint[]> {
    return Object.fromEntries([...this.recorders].map(([n, r]) => [n, r.points.map((p) => ({ t: p.t, inTraffic: p.ok }))]));
  }

  states(node: string): StatePoint[] | undefined {
    return this.recorders.get(node)?.points;
  }
}
