/**
 * The room sockets' reconnect policy. PURE (no k6, no Node): unit-tested from Node, used by lib/ws.ts.
 *
 * - **Schedule**: exponential backoff with full jitter (the AWS Architecture Blog's "full jitter"): the delay
 *   before attempt n (0-based, counted since the socket was last stable) is uniform in [0, min(cap, base · 2^n)),
 *   so clients dropped together by one instance do not come back in lockstep.
 * - **Bounds**: at most `maxAttempts` attempts per outage (the count restarts only after a replacement stayed open
 *   `capMs`, so a socket the server keeps dropping at once runs out of attempts too), and never an attempt at or
 *   after the socket's planned end.
 * - **Session judgement** (`ws_session_ok`): a socket's session is ok when it opened, did not give up, and every
 *   time it was disconnected (a failed first open counts from the start; an outage still open at the planned end
 *   counts up to that end) lasted at most `gapOkMs`.
 *
 * A few lines of arithmetic, so no library: the backoff packages on npm wrap a promise-returning function, which
 * does not fit k6's event-driven sockets.
 */

export interface ReconnectPolicy {
  /** Ceiling of the first delay, ms. */
  baseMs: number;
  /** Largest ceiling, ms; also how long a replacement must stay open before the attempt count restarts. */
  capMs: number;
  /** Attempts per outage before the socket gives up (ends early, session not ok). */
  maxAttempts: number;
  /** Longest disconnection a session may have and still count as ok (`ws_session_ok`), ms. */
  gapOkMs: number;
}

/** Every profile's policy: base 200 ms, cap 5 s, 20 attempts (about 45 s of trying), gaps up to 10 s are ok. */
export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 200, capMs: 5000, maxAttempts: 20, gapOkMs: 10_000 };

/** The ceiling of the delay before attempt `attempt` (0-based): min(cap, base · 2^attempt). */
export function backoffCeilingMs(p: Pick<ReconnectPolicy, 'baseMs' | 'capMs'>, attempt: number): number {
  // 2^attempt overflows nothing below 2^1023; clamp the exponent anyway so the product stays finite.
  return Math.min(p.capMs, p.baseMs * 2 ** Math.min(Math.max(0, attempt), 60));
}

/** Full jitter: uniform in [0, ceiling). `random` returns [0, 1) (Math.random in k6). */
export function backoffDelayMs(p: Pick<ReconnectPolicy, 'baseMs' | 'capMs'>, attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(p, attempt));
}

/** What a disconnected socket does next: try again at a time, wait for its planned close, or give up. */
export type NextStep = { retryAtMs: number } | 'wait-for-end' | 'give-up';

/**
 * After a disconnection or a failed attempt. `attempt` = attempts already made in this outage. An attempt that
 * would fall at or after `plannedEndMs` is not made: the socket waits for its planned close (the outage then
 * counts up to that end); when the attempts are used up it gives up.
 */
export function nextStep(p: ReconnectPolicy, attempt: number, nowMs: number, plannedEndMs: number, random: () => number = Math.random): NextStep {
  if (attempt >= p.maxAttempts) return 'give-up';
  const at = nowMs + backoffDelayMs(p, attempt, random);
  return at < plannedEndMs ? { retryAtMs: at } : 'wait-for-end';
}

/** One disconnection: from the unplanned close (or the start of a failed first open) to the replacement's open. */
export interface Gap {
  downMs: number;
  /** Undefined while still disconnected. */
  upMs?: number;
}

export interface SessionFacts {
  /** Ever opened. */
  opened: boolean;
  /** Attempts ran out before the planned end. */
  gaveUp: boolean;
  gaps: readonly Gap[];
  /** When the session ended (planned close); an outage still open counts up to here. */
  endMs: number;
}

/** `ws_session_ok` for one socket (see the module comment). */
export function sessionOk(p: Pick<ReconnectPolicy, 'gapOkMs'>, s: SessionFacts): boolean {
  if (!s.opened || s.gaveUp) return false;
  return s.gaps.every((g) => (g.upMs ?? s.endMs) - g.downMs <= p.gapOkMs);
}

/** The gaps as metadata text `down-up down-up …` (epoch ms; an open gap ends at `endMs`), at most `max` of them. */
export function formatGaps(gaps: readonly Gap[], endMs: number, max = 50): string {
  return gaps
    .slice(-max)
    .map((g) => `${Math.round(g.downMs)}-${Math.round(g.upMs ?? endMs)}`)
    .join(' ');
}

/** Reads formatGaps' text back (malformed parts are skipped). */
export function parseGaps(text: string): Array<{ downMs: number; upMs: number }> {
  const out: Array<{ downMs: number; upMs: number }> = [];
  for (const part of text.split(' ')) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m) out.push({ downMs: Number(m[1]), upMs: Number(m[2]) });
  }
  return out;
}
