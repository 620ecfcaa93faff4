// The drill's fault schedule expanded as data (chaos/drill/schedule.ts): the order of inject and heal operations,
// overlapping faults on different nodes, a restart with no span, ties at one second. Pure, milliseconds.
import { describe, expect, it } from 'vitest';
import { FaultStep } from '../../chaos/faults.js';
import { expandSchedule } from '../../chaos/drill/schedule.js';

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
