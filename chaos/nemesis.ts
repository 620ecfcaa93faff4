/**
 * The nemesis: applies and heals faults through the drivers, always via the ledger. It knows nothing of the load
 * (the generator) or the judging (the checker).
 *
 *   inject(step, node)  prepare → ledger `inject` line (fsync) → driver.inject → ledger `applied` line
 *   heal(id)            driver.heal → ledger `healed` line (or `heal-failed`, and the fault stays active)
 *   healAll()           heals every active fault of the ledger, newest first (also those of dead drills)
 */
import type { Component } from '../runner/target-file.js';
import { pickDriver, type FaultDriver, type HealOutcome } from './drivers/driver.js';
import { DbLinkDriver } from './drivers/db-link.js';
import { DockerDriver } from './drivers/docker.js';
import { ProcessDriver } from './drivers/process.js';
import { ToxiproxyDriver } from './drivers/toxiproxy.js';
import type { FaultStep } from './faults.js';
import { formatProblem, Ledger, newFaultId, selfAsOwner, type LedgerFault } from './ledger.js';
import { PidState, pidStatePathFor } from './pid-state.js';
import { resolve } from 'node:path';

export function defaultDrivers(logDir?: string): FaultDriver[] {
  return [new ProcessDriver({ logDir }), new ToxiproxyDriver(), new DockerDriver(), new DbLinkDriver()];
}

export interface NemesisOptions {
  ledger: Ledger;
  drivers?: FaultDriver[];
  runId?: string;
  /**
   * The target file these faults are on: a heal (or restart) that starts a node again records the new pid in the
   * pid state under this file's path (never in the file itself: it is the user's).
   */
  targetFilePath?: string;
  /** Where restarted pids go (default: chaos-pids.json beside the ledger). */
  pidState?: PidState;
  log?: (line: string) => void;
}

export interface Injected {
  id: string;
  driver: string;
  /** ms epoch: the real inject time (taken right after the driver applied it). */
  at: number;
}

export interface Healed {
  id: string;
  at: number;
  outcome: HealOutcome;
}

export class Nemesis {
  readonly ledger: Ledger;
  private readonly drivers: FaultDriver[];
  private readonly log: (line: string) => void;
  readonly pids: PidState;

  constructor(private readonly opts: NemesisOptions) {
    this.ledger = opts.ledger;
    this.pids = opts.pidState ?? new PidState(pidStatePathFor(opts.ledger.path));
    this.drivers = opts.drivers ?? defaultDrivers();
    this.log = opts.log ?? (() => {});
  }

  driverByName(name: string): FaultDriver {
    const d = this.drivers.find((x) => x.name === name);
    if (!d) throw new Error(`no ${name} driver loaded`);
    return d;
  }

  async inject(step: FaultStep, node: Component): Promise<Injected> {
    const driver = pickDriver(this.drivers, step.fault, node);
    const handle = await driver.prepare(step, node);
    const id = newFaultId(step.fault, node.name);
    this.ledger.append({
      type: 'inject',
      id,
      at: Date.now(),
      runId: this.opts.runId,
      fault: step.fault,
      node: node.name,
      driver: driver.name,
      handle,
      forS: step.for,
      ...(this.opts.targetFilePath ? { target: resolve(this.opts.targetFilePath) } : {}),
      nodeUrl: node.url,
      owner: selfAsOwner(this.opts.targetFilePath),
    });
    let newPid: number | undefined;
    try {
      newPid = (await driver.inject(step.fault, handle))?.newPid;
    } catch (err) {
      this.ledger.append({ type: 'inject-failed', id, at: Date.now(), error: (err as Error).message });
      throw err;
    }
    const at = Date.now();
    this.ledger.append({ type: 'applied', id, at, newPid });
    if (newPid !== undefined) this.recordPid(this.opts.targetFilePath, node.name, newPid);
    this.log(`injected ${step.fault} on ${node.name} via ${driver.name} (${id})`);
    return { id, driver: driver.name, at };
  }

  /** A restarted node's pid, for later faults on the same target (pid state; the ledger line has it too). */
  private recordPid(targetPath: string | undefined, node: string, pid: number): void {
    if (targetPath) this.pids.record(targetPath, node, pid, this.opts.runId);
  }

  async heal(id: string): Promise<Healed> {
    const f = this.ledger.get(id);
    if (!f) throw new Error(`no fault ${id} in ${this.ledger.path}`);
    return this.healFault(f);
  }

  /**
   * One heal per fault at a time in this process: a scheduled heal still waiting for a restarted node and the
   * heal-everything after the load must not both start the node (two processes, one port).
   */
  private readonly healing = new Map<string, Promise<Healed>>();

  private healFault(f: LedgerFault): Promise<Healed> {
    const id = f.inject.id;
    let p = this.healing.get(id);
    if (!p) {
      p = this.healOnce(f).finally(() => this.healing.delete(id));
      this.healing.set(id, p);
    }
    return p;
  }

  private async healOnce(snapshot: LedgerFault): Promise<Healed> {
    const f = this.ledger.get(snapshot.inject.id) ?? snapshot; // another heal may have finished since the snapshot
    const { inject } = f;
    if (f.healed) return { id: inject.id, at: f.healed.at, outcome: { detail: 'already healed' } };
    const driver = this.driverByName(inject.driver);
    try {
      const outcome = await driver.heal(inject.fault, inject.handle as never);
      const at = Date.now();
      this.ledger.append({ type: 'healed', id: inject.id, at, detail: outcome.detail, newPid: outcome.newPid });
      // recorded under the target file of the run that injected it, else the one this nemesis was given
      if (outcome.newPid !== undefined) this.recordPid(inject.target ?? inject.owner?.targetFile ?? this.opts.targetFilePath, inject.node, outcome.newPid);
      this.log(`healed ${inject.fault} on ${inject.node}: ${outcome.detail}`);
      return { id: inject.id, at, outcome };
    } catch (err) {
      this.ledger.append({ type: 'heal-failed', id: inject.id, at: Date.now(), error: (err as Error).message });
      throw err;
    }
  }

  /**
   * Heals every active fault (of any run), newest first; returns the errors of those that could not be healed.
   * A ledger that another user owns or may write is not acted on at all (its lines name commands to run): every
   * active fault then counts as an error. Invalid lines are the caller's to report (ledger.problems()).
   */
  async healAll(filter: (f: LedgerFault) => boolean = () => true): Promise<{ healed: Healed[]; errors: string[] }> {
    const healed: Healed[] = [];
    const errors: string[] = [];
    const active = this.ledger.active().filter(filter).reverse();
    const distrust = this.ledger.problems().find((p) => p.line === undefined);
    if (distrust) {
      for (const f of active) errors.push(`${f.inject.fault} on ${f.inject.node} (${f.inject.id}): not healed: ${formatProblem(this.ledger.path, distrust)}`);
      return { healed, errors };
    }
    for (const f of active) {
      try {
        healed.push(await this.healFault(f));
      } catch (err) {
        errors.push(`${f.inject.fault} on ${f.inject.node} (${f.inject.id}): ${(err as Error).message}`);
      }
    }
    return { healed, errors };
  }

  async status(): Promise<{ fault: LedgerFault; state: string }[]> {
    const out: { fault: LedgerFault; state: string }[] = [];
    for (const f of this.ledger.active()) {
      let state: string;
      try {
        state = await this.driverByName(f.inject.driver).inspect(f.inject.fault, f.inject.handle as never);
      } catch (err) {
        state = `cannot inspect: ${(err as Error).message}`;
      }
      out.push({ fault: f, state });
    }
    return out;
  }
}
