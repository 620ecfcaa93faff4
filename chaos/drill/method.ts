/**
 * The drill's method and rollback (Chaos Toolkit's terms): the expanded schedule (schedule.ts) played against
 * k6's clock through the nemesis, and the heal of everything this run still has injected. The nemesis and the
 * ledger know nothing of load or judgement; this object knows only when to call them.
 */
import type { TargetFile } from '../../runner/target-file.js';
import { findFaultTarget } from '../fault-targets.js';
import type { Ledger, LedgerFault } from '../ledger.js';
import type { Nemesis } from '../nemesis.js';
import type { DrillJournal } from './journal.js';
import type { ScheduledOp } from './schedule.js';

export interface FaultMethodOptions {
  nemesis: Nemesis;
  ledger: Ledger;
  runId: string;
  target: TargetFile;
  /** The target as it is now (pids of restarted nodes laid over the file's, chaos/pid-state.ts); default `target`. */
  currentTarget?: () => TargetFile;
  ops: readonly ScheduledOp[];
  /** The drill's errors: failed injects and heals are appended. */
  errors: string[];
  /** Every inject and heal, and its outcome, is an event here. */
  journal: DrillJournal;
  /** True once SIGINT/SIGTERM arrived: no operation starts after that. */
  interrupted: () => boolean;
}

export class FaultMethod {
  /** Fault index (in spec.faults) → ledger id, once its inject succeeded. */
  readonly injected = new Map<number, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;

  constructor(private readonly o: FaultMethodOptions) {}

  /** Plays the schedule from `zeroMs` (epoch ms of load start); only the first call counts. */
  start(zeroMs: number): void {
    if (this.started) return;
    this.started = true;
    for (const op of this.o.ops) {
      this.timers.push(setTimeout(() => (op.op === 'inject' ? this.inject(op) : this.heal(op)), Math.max(0, zeroMs + op.atS * 1000 - Date.now())));
    }
  }

  /** Marks the schedule as started without playing it (k6 setup failed: no fault is injected). */
  skip(): void {
    this.started = true;
  }

  /** Clears the operations not yet due. */
  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  /** The faults of this run the ledger holds as active (injected, not healed). */
  active(): LedgerFault[] {
    return this.o.ledger.active().filter((f) => f.inject.runId === this.o.runId);
  }

  /** The rollback: heals every active fault of this run (idempotent; a no-op when none is left). */
  async healRun(why: string): Promise<void> {
    const active = this.active();
    if (active.length === 0) return;
    this.o.journal.emit({ type: 'rollback', faults: active.length, why });
    const r = await this.o.nemesis.healAll((f) => f.inject.runId === this.o.runId);
    for (const e of r.errors) {
      this.o.errors.push(`heal failed: ${e}`);
      this.o.journal.emit({ type: 'rollback-failed', error: e });
    }
  }

  private inject({ step: f, fault: i }: ScheduledOp): void {
    if (this.o.interrupted()) return;
    const node = findFaultTarget(this.o.currentTarget?.() ?? this.o.target, f.node)!;
    this.o.journal.emit({ type: 'inject', step: f });
    this.o.nemesis.inject(f, node).then(
      (r) => this.injected.set(i, r.id),
      (err: Error) => {
        this.o.errors.push(`inject ${f.fault} on ${f.node} failed: ${err.message}`);
        this.o.journal.emit({ type: 'inject-failed', step: f, error: err.message });
      },
    );
  }

  private heal({ step: f, fault: i }: ScheduledOp): void {
    if (this.o.interrupted()) return;
    const id = this.injected.get(i);
    if (!id) return;
    this.o.journal.emit({ type: 'heal', step: f });
    this.o.nemesis.heal(id).then(
      (h) => this.o.journal.emit({ type: 'healed', step: f, detail: h.outcome.detail }),
      (err: Error) => {
        this.o.errors.push(`heal ${f.fault} on ${f.node} failed: ${err.message}`);
        this.o.journal.emit({ type: 'heal-failed', step: f, error: err.message });
      },
    );
  }
}
