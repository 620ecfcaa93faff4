/**
 * Redis Sentinel failover, as a drill sees it (issue 16, the owners' "Redis Sentinel failover and recovery" test).
 *
 *   SentinelWatcher  during the load, asks every sentinel of the target file every POLL_MS for the primary of
 *                    `masterName` (SENTINEL GET-MASTER-ADDR-BY-NAME) and keeps the answers (Node side).
 *   promotionFigures PURE: for a fault on the primary, when a majority of the sentinels first named another
 *                    primary (promotion time = that moment − inject), the fan-out gap per room that had WebSocket
 *                    traffic before (the longest silence between two of its WS echoes from just before the fault
 *                    until 30 s after the promotion: an echo comes through the room's Redis channel) and fan-out
 *                    resuming in every such room after the promotion (chaos/data-tier.ts resumeFigures).
 *   judgePromotion   `sentinel_promotion{…}`: a promotion within maxPromotionS; none at all fails ("never").
 *
 * What it can miss: the promotion time has the poll's resolution (POLL_MS, and a sentinel that does not answer is
 * not counted); a promotion that the sentinels report but no client can reach is seen only in the fan-out gap.
 * Messages undelivered across the failover are the integrity check's `undelivered` (and the WS figures).
 */
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { ConnectionRefusedByRule, connectionRefusal } from '../runner/connections.js';
import type { TargetFile } from '../runner/target-file.js';
import { judgeResume, resumeFigures, type ResumeFigures, type StoreAck } from './data-tier.js';

export const POLL_MS = 100;

/** One answer: when, which sentinel, and the primary it named (host:port; null: it did not answer). */
export interface SentinelSample {
  at: number;
  sentinel: string;
  primary: string | null;
}

/** The schemes a sentinel's URL may have. */
const REDIS_SCHEMES = ['redis', 'rediss', 'tcp'];

export class SentinelWatcher {
  readonly samples: SentinelSample[] = [];
  private readonly clients: Array<{ name: string; r: RedisClient }>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly s: NonNullable<TargetFile['redisSentinel']>) {
    // ioredis loaded here, with a Sentinel drill, not by every drill CLI start
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    this.clients = s.sentinels.map((c) => {
      // the loopback rule at contact time (runner/connections.ts), as for every other connection
      const why = connectionRefusal(c.url, REDIS_SCHEMES);
      if (why !== undefined) throw new ConnectionRefusedByRule(`not contacting ${c.name}: ${why}`);
      const r = new Redis(c.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, enableOfflineQueue: false, retryStrategy: () => 200 });
      r.on('error', () => undefined);
      return { name: c.name, r };
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.r.connect().catch(() => undefined)));
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  private async poll(): Promise<void> {
    const at = Date.now();
    await Promise.all(
      this.clients.map(async (c) => {
        let primary: string | null = null;
        try {
          const a = (await c.r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.s.masterName)) as [string, string] | null;
          primary = a ? `${a[0]}:${a[1]}` : null;
        } catch {
          /* not answering: null */
        }
        this.samples.push({ at, sentinel: c.name, primary });
      }),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.clients) c.r.disconnect();
  }
}

export interface PromotionFigures {
  masterName: string;
  /** The primary the sentinels named before the fault, and the one a majority named after it (null: none). */
  before: string | null;
  after: string | null;
  /** Seconds from inject to the first poll where a majority of the sentinels named another primary. */
  promotionS: number | null;
  sentinels: number;
  /** Polls from the fault on (each asks every sentinel); resolution POLL_MS. */
  polls: number;
  /** Per room active before: the longest silence (s) between two WS echoes from just before the fault to 30 s after the promotion. */
  fanoutGapS: Record<string, number | null>;
  fanoutGapMaxS: number | null;
  /** Fan-out after the promotion (Redis "back" = promoted). */
  resume: ResumeFigures;
}

/** The primary named by more than half of `n` sentinels in one poll, or undefined. */
function majority(poll: readonly SentinelSample[], n: number): string | undefined {
  const count = new Map<string, number>();
  for (const s of poll) if (s.primary) count.set(s.primary, (count.get(s.primary) ?? 0) + 1);
  return [...count].find(([, c]) => c > n / 2)?.[0];
}

export function promotionFigures(samples: readonly SentinelSample[], w: { masterName: string; sentinels: number; injectAt: number; endAt: number }, acks: readonly StoreAck[]): PromotionFigures {
  const byPoll = new Map<number, SentinelSample[]>();
  for (const s of samples) byPoll.set(s.at, [...(byPoll.get(s.at) ?? []), s]);
  const polls = [...byPoll].sort((a, b) => a[0] - b[0]);
  const before = polls.filter(([at]) => at <= w.injectAt).map(([, p]) => majority(p, w.sentinels)).findLast((m) => m !== undefined) ?? null;
  const after = polls.filter(([at]) => at > w.injectAt);
  const promoted = after.find(([, p]) => {
    const m = majority(p, w.sentinels);
    return m !== undefined && m !== before;
  });
  const promotedAt = promoted?.[0];
  const resume = resumeFigures(acks, { injectAt: w.injectAt, backAt: promotedAt ?? w.endAt });
  const until = Math.min(w.endAt, (promotedAt ?? w.endAt) + 30_000);
  const fanoutGapS: Record<string, number | null> = {};
  for (const room of Object.keys(resume.rooms)) {
    const ts = acks.filter((a) => a.transport === 'ws' && a.room === room && a.at <= until).map((a) => a.at).sort((a, b) => a - b);
    const from = ts.findLastIndex((t) => t < w.injectAt);
    let gap = 0;
    for (let i = Math.max(0, from) + 1; i < ts.length; i++) gap = Math.max(gap, ts[i]! - ts[i - 1]!);
    // no echo after the fault: the room never resumed (no gap to measure)
    fanoutGapS[room] = ts.length > from + 1 && from >= 0 ? Math.round(gap / 10) / 100 : null;
  }
  const gaps = Object.values(fanoutGapS).filter((g): g is number => g !== null);
  return {
    masterName: w.masterName,
    before,
    after: promoted ? majority(promoted[1], w.sentinels)! : null,
    promotionS: promotedAt !== undefined ? Math.round((promotedAt - w.injectAt) / 10) / 100 : null,
    sentinels: w.sentinels,
    polls: after.length,
    fanoutGapS,
    fanoutGapMaxS: gaps.length ? Math.max(...gaps) : null,
    resume,
  };
}

/** `sentinel_promotion{phase:fault,fault,node}` within maxPromotionS, and fan-out resuming in every room after it. */
export function judgePromotion(fault: string, node: string, p: PromotionFigures, maxPromotionS: number, maxResumeS: number): string[] {
  const who = `sentinel_promotion{phase:fault,fault:${fault},node:${node}}`;
  if (p.polls === 0) return [`${who}: <=${maxPromotionS}s (observed no samples: no sentinel was polled after the fault)`];
  if (p.promotionS === null) return [`${who}: <=${maxPromotionS}s (observed never: ${p.polls} polls of ${p.sentinels} sentinels after the fault, no majority named another primary than ${p.before ?? 'none'})`];
  const out = p.promotionS > maxPromotionS ? [`${who}: <=${maxPromotionS}s (observed ${p.promotionS}s)`] : [];
  return [...out, ...judgeResume(fault, node, p.resume, maxResumeS)];
}

export function formatPromotion(f: { fault: string; node: string; sentinel?: PromotionFigures & { undelivered?: number } }): string[] {
  const p = f.sentinel;
  if (!p) return [];
  const gaps = Object.values(p.fanoutGapS).filter((g): g is number => g !== null);
  const r = p.resume;
  return [
    `  ${f.fault} ${f.node} (Sentinel "${p.masterName}"): ` +
      (p.promotionS === null ? `NO promotion seen (${p.polls} polls of ${p.sentinels} sentinels)` : `promoted ${p.after} in ${p.promotionS} s (was ${p.before}; ${p.polls} polls of ${p.sentinels} sentinels, every ${POLL_MS} ms)`) +
      `; fan-out gap ${gaps.length ? `${Math.min(...gaps)}-${p.fanoutGapMaxS} s` : 'not measured'} in ${gaps.length} of ${r.roomsActiveBefore} rooms; resumed after the promotion in ${r.roomsActiveBefore - r.neverResumed.length} of ${r.roomsActiveBefore}` +
      (r.neverResumed.length ? ` (NEVER: ${r.neverResumed.slice(0, 3).join(', ')})` : '') +
      (p.undelivered !== undefined ? `; ${p.undelivered} undelivered in the run (integrity)` : ''),
  ];
}
