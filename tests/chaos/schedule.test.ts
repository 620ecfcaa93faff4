// The drill's fault schedule expanded as data (chaos/drill/schedule.ts): the order of inject and heal operations,
// overlapping faults on different nodes, a restart with no span, ties at one second; and the zero it is played
// from (k6's load_start_ms, else its first progress line). On vitest's fake clock: < 1 s.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FaultStep } from '../../chaos/faults.js';
import { expandSchedule } from '../../chaos/drill/schedule.js';
import { onLoadStart } from '../../chaos/drill/steps.js';
import type { K6Run } from '../../runner/k6-run.js';

const step = (fault: string, node: string, at: number, for_: number) => FaultStep.parse({ fault, node, at, for: for_ });
const ops = (faults: FaultStep[]) => expandSchedule(faults).map((o) => `${o.atS} ${o.op} ${o.fault}`);

describe('expandSchedule', () => {
  it('one fault: inject at `at`, heal at `at + for`', () => {
    const s = expandSchedule([step('kill', 'dbman-1', 5, 7)]);
    expect(s.map((o) => [o.atS, o.op, o.fault, o.step.node])).toEqual([
      [5, 'inject', 0, 'dbman-1'],
      [12, 'heal', 0, 'dbman-1'],
    ]);
  });

  it('orders by time, not by the place in the spec', () => {
    expect(ops([step('pause', 'dbman-3', 25, 7), step('kill', 'dbman-1', 5, 7), step('stop', 'dbman-2', 15, 7)])).toEqual([
      '5 inject 1',
      '12 heal 1',
      '15 inject 2',
      '22 heal 2',
      '25 inject 0',
      '32 heal 0',
    ]);
  });

  it('overlapping faults on different nodes interleave', () => {
    expect(ops([step('kill', 'dbman-1', 5, 10), step('pause', 'dbman-2', 8, 3), step('latency', 'redis', 9, 10)])).toEqual([
      '5 inject 0',
      '8 inject 1',
      '9 inject 2',
      '11 heal 1',
      '15 heal 0',
      '19 heal 2',
    ]);
  });

  it('a restart with no span: its heal right after its own inject, at the same second', () => {
    expect(ops([step('restart', 'dbman-1', 6, 0)])).toEqual(['6 inject 0', '6 heal 0']);
  });

  it('at one second: heals of earlier faults first, then injects, then the heal of a fault with no span', () => {
    // dbman-1 back before dbman-2 goes (the next fault starts where the last ends), the restart last
    expect(ops([step('restart', 'dbman-3', 10, 0), step('kill', 'dbman-1', 5, 5), step('stop', 'dbman-2', 10, 5)])).toEqual([
      '5 inject 1',
      '10 heal 1',
      '10 inject 0',
      '10 inject 2',
      '10 heal 0',
      '15 heal 2',
    ]);
  });

  it('keeps the step with each operation and does not change the input', () => {
    const faults = [step('stop', 'dbman-2', 15, 7), step('kill', 'dbman-1', 5, 7)];
    const copy = structuredClone(faults);
    const s = expandSchedule(faults);
    expect(faults).toEqual(copy);
    for (const o of s) expect(o.step).toBe(faults[o.fault]);
    expect(expandSchedule([])).toEqual([]);
  });
});

describe("onLoadStart: the schedule's zero from k6's clock", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
  const fakeK6 = (loadStarted: Promise<Date>) => Object.assign(new EventEmitter(), { loadStarted }) as unknown as K6Run;
  const recorder = () => {
    const seen: string[] = [];
    return { seen, on: { start: (at: Date, source: string) => seen.push(`start ${at.getTime()} ${source}`), setupFailed: (line: string) => seen.push(`failed ${line}`) } };
  };

  it('the scenario\'s load_start_ms wins over the first progress line; only the first start counts', async () => {
    let progress!: (d: Date) => void;
    const run = fakeK6(new Promise((r) => (progress = r)));
    const { seen, on } = recorder();
    onLoadStart(run, () => false, on);
    run.emit('line', 'running (00.1s)');
    run.emit('line', 'suite: ready=true load_start_ms=1000');
    run.emit('line', 'suite: ready=true load_start_ms=2000');
    progress(new Date(500));
    await vi.advanceTimersByTimeAsync(1100);
    expect(seen).toEqual(['start 1000 k6 setup load_start_ms']);
  });

  it('without load_start_ms: the first progress line, 1 s later; not after a signal', async () => {
    const { seen, on } = recorder();
    onLoadStart(fakeK6(Promise.resolve(new Date(700))), () => false, on);
    const other = recorder();
    onLoadStart(fakeK6(Promise.resolve(new Date(700))), () => true, other.on);
    await vi.advanceTimersByTimeAsync(1100);
    expect(seen).toEqual(['start 700 first k6 progress line']);
    expect(other.seen).toEqual([]);
  });

  it('a setup that says ready=false: setupFailed, and the schedule never starts', async () => {
    const run = fakeK6(Promise.resolve(new Date(700)));
    const { seen, on } = recorder();
    onLoadStart(run, () => false, on);
    run.emit('line', 'suite: ready=false load_start_ms=1000');
    await vi.advanceTimersByTimeAsync(1100);
    expect(seen).toEqual(['failed suite: ready=false load_start_ms=1000']);
  });
});
