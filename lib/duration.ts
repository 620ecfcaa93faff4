/** Durations as k6 writes them ("90s", "5m", "1h30m") and plain seconds. PURE: no k6, no Node. */

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** "90s" → 90, "1m30s" → 90, "250ms" → 0.25, "45" → 45; undefined when it is not a duration. */
export function parseDurationS(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(PART)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : n * 3600;
  }
  return total;
}

/** Seconds → a k6 duration string; whole seconds when possible ("90s"), else milliseconds ("1500ms"). */
export function k6Duration(seconds: number): string {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError(`not a duration: ${seconds}`);
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
