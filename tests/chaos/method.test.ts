// The drill's method (chaos/drill/method.ts) playing an expanded schedule against a clock, through a recording
// nemesis (the real drivers are tested in process-driver, toxiproxy-driver, db-link-driver and docker): the
// operations at their times and in order, a heal whose inject failed is skipped, nothing starts after a signal,
// the rollback heals only this run's faults; and the journal's console lines. On vitest's fake clock: < 1 s.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { consolePrinter, DrillJournal, type DrillEvent } from '../../chaos/drill/journal.js';
import { FaultMethod } from '../../chaos/drill/method.js';
import { expandSchedule } from '../../chaos/drill/schedule.js';
import { FaultStep } from '../../chaos/faults.js';
import type { Ledger, LedgerFault } from '../../chaos/ledger.js';
import type { Nemesis } from '../../chaos/nemesis.js';
import { paperTarget } from './helpers.js';

const target = paperTarget({ dbman: ['dbman-1', 'dbman-2', 'dbman-3'] });
const step = (fault: string, node: string, at: number, for_: number) => FaultStep.parse({ fault, node, at, for: for_ });

/** A nemesis that records what it is asked (ms after zero) and fails injects on `failOn`. */
function recorder(zero: () => number, failOn = '') {
  const calls: string[] = [];
  const active: LedgerFault[] = [];
  const nemesis = {
    inject: async (s: FaultStep) => {
      calls.push(`${Date.now() - zero()} inject ${s.node}`);
      if (s.node === failOn) throw new Error('no such pid');
      return { id: `id-${s.node}`, driver: 'process', at: Date.now() };
    },
    heal: async (id: string) => {
      calls.push(`${Date.now() - zero()} heal ${id}`);
      return { id, at: Date.now(), outcome: { detail: 'SIGCONT' } };
    },
    healAll: async (filter: (f: LedgerFault) => boolean) => {
      const mine = active.filter(filter);
      calls.push(`healAll ${mine.map((f) => f.inject.id).join(',')}`);
      return { healed: [], errors: mine.length > 1 ? ['pause on dbman-2 (x): EPERM'] : [] };
    },
  } as unknown as Nemesis;
  const ledger = { active: () => active } as unknown as Ledger;
  return { calls, active, nemesis, ledger };
}

function method(faults: FaultStep[], r: ReturnType<typeof recorder>, interrupted = () => false) {
  const events: DrillEvent[] = [];
  const lines: string[] = [];
  const journal = new DrillJournal().on((e) => events.push(e)).on(consolePrinter((l) => lines.push(l)));
  const errors: string[] = [];
  const m = new FaultMethod({ nemesis: r.nemesis, ledger: r.ledger, runId: 'run-1', target, ops: expandSchedule(faults), errors, journal, interrupted });
  return { m, events, lines, errors, journal };
}

const wait = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('FaultMethod', () => {
  beforeEach(() => void vi.useFakeTimers({ now: Date.parse('2026-12-02T10:00:00.000Z') }));
  afterEach(() => void vi.useRealTimers());

  it('plays the schedule from the zero it is given: each operation at its time, in order; only the first start counts', async () => {
    let zero = 0;
    const r = recorder(() => zero);
    const { m, lines, errors } = method([step('pause', 'dbman-2', 0.3, 0.2), step('kill', 'dbman-1', 0.1, 0.1)], r);
    zero = Date.now() + 100; // k6's load started 100 ms from now
    m.start(zero);
    m.start(zero + 5000); // ignored: the schedule is already playing
    await wait(6000);
    expect(r.calls).toEqual(['100 inject dbman-1', '200 heal id-dbman-1', '300 inject dbman-2', '500 heal id-dbman-2']);
    expect(lines).toEqual([
      'T+0.1s: inject kill on dbman-1',
      'T+0.2s: heal kill on dbman-1',
      'healed kill on dbman-1: SIGCONT',
      'T+0.3s: inject pause on dbman-2',
      'T+0.5s: heal pause on dbman-2',
      'healed pause on dbman-2: SIGCONT',
    ]);
    expect(errors).toEqual([]);
    expect([...m.injected]).toEqual([[1, 'id-dbman-1'], [0, 'id-dbman-2']]);
  });

  it('a failed inject is an error and its heal is skipped; cancel drops what is not yet due; nothing starts after a signal', async () => {
    let zero = 0;
    const r = recorder(() => zero, 'dbman-1');
    const { m, errors, events } = method([step('kill', 'dbman-1', 0.05, 0.05), step('stop', 'dbman-3', 0.3, 0.1)], r);
    zero = Date.now();
    m.start(zero);
    await wait(150);
    m.cancel();
    await wait(300);
    expect(r.calls).toEqual(['50 inject dbman-1']);
    expect(errors).toEqual(['inject kill on dbman-1 failed: no such pid']);
    expect(events.map((e) => e.type)).toEqual(['inject', 'inject-failed']);

    const late = recorder(() => zero);
    const stopped = method([step('kill', 'dbman-1', 0.05, 0.05)], late, () => true);
    zero = Date.now();
    stopped.m.start(zero);
    await wait(200);
    expect(late.calls).toEqual([]);
  });

  it('the rollback heals only this run\'s active faults, says so, and reports a heal that failed', async () => {
    const r = recorder(() => 0);
    const { m, lines, errors } = method([step('pause', 'dbman-2', 1, 1)], r);
    await m.healRun('load ended');
    expect(r.calls).toEqual([]); // nothing active: nothing said, nothing done
    const fault = (id: string, runId: string) => ({ inject: { id, runId } }) as LedgerFault;
    r.active.push(fault('a', 'run-1'), fault('b', 'other-run'), fault('c', 'run-1'));
    expect(m.active().map((f) => f.inject.id)).toEqual(['a', 'c']);
    await m.healRun('SIGTERM');
    expect(r.calls).toEqual(['healAll a,c']);
    expect(lines).toEqual(['healing 2 fault(s) (SIGTERM)', 'HEAL FAILED: pause on dbman-2 (x): EPERM — run "npm run chaos -- heal"']);
    expect(errors).toEqual(['heal failed: pause on dbman-2 (x): EPERM']);
  });
});

describe('DrillJournal', () => {
  it('keeps every event with its time, in order; the console printer prints the drill\'s lines', () => {
    const lines: string[] = [];
    const j = new DrillJournal().on(consolePrinter((l) => lines.push(l)));
    j.emit({ type: 'steady-state', checks: [{ what: 'dbman-1 /health/ready', ok: true, detail: '200 ok' }, { what: 'probe: login', ok: false, detail: '401 bad' }] });
    j.emit({ type: 'load-started', at: new Date('2026-12-02T10:00:00.000Z'), source: 'k6 setup load_start_ms' });
    j.emit({ type: 'setup-failed', line: 'ready=false' });
    j.emit({ type: 'load-ended', exitCode: 0, loadMs: 20_000 });
    j.emit({ type: 'judged', verdict: 'pass', breached: [] });
    expect(j.entries.map((e) => e.event.type)).toEqual(['steady-state', 'load-started', 'setup-failed', 'load-ended', 'judged']);
    for (const e of j.entries) expect(Date.parse(e.t)).toBeGreaterThan(0);
    expect(lines).toEqual([
      'steady state: ok  dbman-1 /health/ready: 200 ok',
      'steady state: NOT probe: login: 401 bad',
      'load started at 2026-12-02T10:00:00.000Z (k6 setup load_start_ms)',
      'k6 setup failed: no fault is injected',
    ]);
  });
});
