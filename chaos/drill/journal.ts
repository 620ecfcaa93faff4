/**
 * The drill's journal (Chaos Toolkit's term): the lifecycle events of one drill as they happen (steady state
 * checked, load started, each inject and heal with its outcome, load ended, after-check, judged), each with its
 * time. The steps emit; listeners subscribe: the console printer below, tests, anything that reports.
 */
import type { LogFn } from '../../runner/log.js';
import type { FaultStep } from '../faults.js';
import type { Check } from './steady.js';

export type DrillEvent =
  | { type: 'steady-state'; checks: Check[] }
  | { type: 'load-started'; at: Date; source: string }
  | { type: 'setup-failed'; line: string }
  | { type: 'inject'; step: FaultStep }
  | { type: 'inject-failed'; step: FaultStep; error: string }
  | { type: 'heal'; step: FaultStep }
  | { type: 'healed'; step: FaultStep; detail: string }
  | { type: 'heal-failed'; step: FaultStep; error: string }
  /** The rollback: every fault of the run still active healed, for `why` (load ended, teardown, a signal). */
  | { type: 'rollback'; faults: number; why: string }
  | { type: 'rollback-failed'; error: string }
  | { type: 'load-ended'; exitCode: number | null; loadMs: number }
  | { type: 'after-check'; checks: Check[] }
  | { type: 'judged'; verdict: 'pass' | 'fail'; breached: string[] };

export interface JournalEntry {
  /** ISO time the event was emitted. */
  t: string;
  event: DrillEvent;
}

export type DrillListener = (event: DrillEvent) => void;

export class DrillJournal {
  readonly entries: JournalEntry[] = [];
  private readonly listeners: DrillListener[] = [];

  on(listener: DrillListener): this {
    this.listeners.push(listener);
    return this;
  }

  emit(event: DrillEvent): void {
    this.entries.push({ t: new Date().toISOString(), event });
    for (const l of this.listeners) l(event);
  }
}

/** The drill's progress lines on the console (`[drill] ...`), one per event that has one. */
export function consolePrinter(log: LogFn): DrillListener {
  return (e) => {
    switch (e.type) {
      case 'steady-state':
        for (const c of e.checks) log(`steady state: ${c.ok ? 'ok ' : 'NOT'} ${c.what}: ${c.detail}`);
        return;
      case 'load-started':
        return log(`load started at ${e.at.toISOString()} (${e.source})`);
      case 'setup-failed':
        return log('k6 setup failed: no fault is injected');
      case 'inject':
        return log(`T+${e.step.at}s: inject ${e.step.fault} on ${e.step.node}`);
      case 'inject-failed':
        return log(`INJECT FAILED: ${e.step.fault} on ${e.step.node}: ${e.error}`);
      case 'heal':
        return log(`T+${e.step.at + e.step.for}s: heal ${e.step.fault} on ${e.step.node}`);
      case 'healed':
        return log(`healed ${e.step.fault} on ${e.step.node}: ${e.detail}`);
      case 'heal-failed':
        return log(`HEAL FAILED: ${e.step.fault} on ${e.step.node}: ${e.error}`);
      case 'rollback':
        return log(`healing ${e.faults} fault(s) (${e.why})`);
      case 'rollback-failed':
        return log(`HEAL FAILED: ${e.error} — run "npm run chaos -- heal"`);
      default:
        // load-ended is the runner's `[load] k6 exited ...` line; after-check and judged print with the results
        return;
    }
  };
}
