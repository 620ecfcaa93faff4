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
