/** What the bench ran on: cores, CPU model, memory, kernel, Node, and the load when it started. */
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchResults } from './results.js';

export function describeMachine(): BenchResults['machine'] {
  const c = cpus();
  return { cores: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memoryBytes: totalmem(), kernel: release(), node: process.version, loadAverage1mAtStart: loadavg()[0] ?? 0 };
}
