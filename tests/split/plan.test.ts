import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPACITY, osSettings, planRunners, tuneCommands } from '../../split/plan.js';

describe('load plan', () => {
  it('stage3 needs enough runners for its sockets at the per-runner capacity, with OS settings per runner', () => {
    const p = planRunners('stage3');
    expect(p.peakSockets).toBeGreaterThan(100_000);
    expect(p.runners).toBe(Math.ceil(p.peakSockets / DEFAULT_CAPACITY.socketsPerRunner));
    expect(p.perRunner.sockets * p.runners).toBeGreaterThanOrEqual(p.peakSockets);
    expect(p.os.nofile).toBeGreaterThan(p.perRunner.sockets);
    expect(planRunners('stage3', 1, { socketsPerRunner: 200_000, restIterationsPerS: 10_000, source: 'x' }).runners).toBe(1);
  });
  it('more than one source address above ~60k sockets per runner; tune commands', () => {
    expect(osSettings(50_000).sourceAddresses).toBe(1);
    expect(osSettings(130_000).sourceAddresses).toBe(3);
    expect(osSettings(130_000).notes.join('\n')).toMatch(/source addresses/);
    expect(tuneCommands(8000).map((c) => c[0])).toEqual(['sysctl', 'sysctl']);
  });
});
