import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPACITY, formatPlan, osSettings, planRunners, processCost, RUNNER_RESERVE, tuneCommands } from '../../split/plan.js';

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
  it('a larger runner runs several k6 processes (--local-parts): as many as its cores and memory carry, never fewer parts than needed', () => {
    const one = planRunners('stage3');
    expect(one.processesPerRunner).toBe(1);
    expect(one.processes).toBe(one.runners);
    const big = planRunners('stage3', 1, DEFAULT_CAPACITY, { cores: 16 });
    const cost = processCost(one.perProcess.sockets, one.perProcess.restRate);
    expect(big.processesPerRunner).toBe(Math.floor((16 - RUNNER_RESERVE.cores) / cost.cores));
    expect(big.processes).toBe(big.runners * big.processesPerRunner);
    expect(big.processes).toBeGreaterThanOrEqual(one.runners); // each process at most the measured capacity
    expect(big.perProcess.sockets).toBeLessThanOrEqual(DEFAULT_CAPACITY.socketsPerRunner);
    expect(big.runners).toBe(Math.ceil(one.runners / big.processesPerRunner));
    // memory can be the limit: 4 GiB less the reserve hold 7 processes of ~400 MiB
    expect(planRunners('stage3', 1, DEFAULT_CAPACITY, { cores: 64, memoryGiB: 4 }).processesPerRunner).toBe(Math.floor((3 * 1024) / cost.memoryMiB));
    // a small runner, or a profile one process carries, stays at one process
    expect(planRunners('stage3', 1, DEFAULT_CAPACITY, { cores: 1 }).processesPerRunner).toBe(1);
    expect(planRunners('baseline', 1, DEFAULT_CAPACITY, { cores: 64 }).processesPerRunner).toBe(1);
    expect(formatPlan(big)).toMatch(new RegExp(`--segment i/${big.runners} --local-parts ${big.processesPerRunner}, i = 1\\.\\.${big.runners}`));
  });
});
