/**
 * Phase of the run at a given moment, from FAULT_WINDOWS ([startS, endS) seconds after load start):
 * `baseline` before the first window starts, `fault` inside any window, `recovery` after a window has ended
 * (also between two windows). Without windows everything is `baseline`. PURE.
 */
import type { FaultWindow, Phase } from './types.js';

export function phaseAt(elapsedS: number, windows: readonly FaultWindow[]): Phase {
  if (windows.length === 0) return 'baseline';
  const first = windows[0]!;
  if (elapsedS < first[0]) return 'baseline';
  for (const [start, end] of windows) {
    if (elapsedS >= start && elapsedS < end) return 'fault';
  }
  return 'recovery';
}

/** A clock bound to one load start (epoch ms, from setup data) and one schedule. */
export function phaseClock(loadStartMs: number, windows: readonly FaultWindow[]): (nowMs?: number) => Phase {
  if (windows.length === 0) return () => 'baseline';
  return (nowMs = Date.now()) => phaseAt((nowMs - loadStartMs) / 1000, windows);
}

/**
 * One tags object per phase (and per transport) for the samples of hot paths, made once and reused: a new object
 * per sample costs k6's runtime ~5 µs more per metric add. Callers must not change them.
 */
const PHASE_TAGS: Partial<Record<Phase, { phase: Phase }>> = {};
export function phaseTags(phase: Phase): { phase: Phase } {
  return (PHASE_TAGS[phase] ??= { phase });
}

const STORE_TAGS: Record<string, { transport: 'rest' | 'ws'; phase: Phase }> = {};
/** The message_store_* tags of one transport in one phase (see phaseTags). */
export function storeTags(transport: 'rest' | 'ws', phase: Phase): { transport: 'rest' | 'ws'; phase: Phase } {
  return (STORE_TAGS[`${transport}|${phase}`] ??= { transport, phase });
}
