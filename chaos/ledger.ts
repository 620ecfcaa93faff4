/**
 * The fault ledger: an append-only JSON-lines file. A fault's `inject` line is written and fsynced BEFORE the
 * fault is applied, carrying everything its driver needs to heal it (pid, command line, environment, toxic
 * name...), so a drill killed with SIGKILL leaves enough behind for `npm run chaos -- heal`. After applying,
 * an `applied` line carries the real inject timestamp; after healing, a `healed` line closes the fault.
 *
 * A fault is active while it has an `inject` line and no `healed` line. Several processes (drills side by side,
 * `chaos heal`) write the same ledger: each line is ONE write() with O_APPEND (the kernel appends it whole at the
 * end, never interleaved with another writer's), so a line is there whole or, when its writer died mid-write,
 * as a torn fragment the reader skips (and a line glued after such a fragment is still read).
 *
 * The inject line names its owner (the drill's or the CLI's pid and start time, and its target file) and the
 * faulted node's URL, so `activeOn` tells which faults are on a node of one deployment and whether their drill
 * still runs.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readStat } from './drivers/proc.js';
import { FAULT_KINDS } from './faults.js';

export const DRIVER_NAMES = ['process', 'toxiproxy', 'docker', 'db-link'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

const InjectLine = z.object({
  type: z.literal('inject'),
  id: z.string(),
  /** ms since epoch, taken just before the fault is applied. */
  at: z.number(),
  runId: z.string().optional(),
  fault: z.enum(FAULT_KINDS),
  node: z.string(),
  driver: z.enum(DRIVER_NAMES),
  /** Driver-specific data needed to inject and heal (see the drivers). */
  handle: z.unknown(),
  /** Planned duration (s) when known; informative only. */
  forS: z.number().optional(),
  /** The target file the fault is on (absolute path), when known: a restarted pid is recorded under it (chaos/pid-state.ts). */
  target: z.string().optional(),
  /** The node's URL as the target file names it: with `node`, the node of one deployment. */
  nodeUrl: z.string().optional(),
  /** The process that injected it (a drill, `chaos inject`): pid and /proc start time, and its target file. */
  owner: z.object({ pid: z.number().int(), startTime: z.number().optional(), targetFile: z.string().optional() }).optional(),
});
const AppliedLine = z.object({ type: z.literal('applied'), id: z.string(), at: z.number(), newPid: z.number().optional() });
const InjectFailedLine = z.object({ type: z.literal('inject-failed'), id: z.string(), at: z.number(), error: z.string() });
const HealedLine = z.object({
  type: z.literal('healed'),
  id: z.string(),
  at: z.number(),
  detail: z.string().optional(),
  /** A heal that restarted a process records its new pid (and the new process's start time). */
  newPid: z.number().optional(),
});
const HealFailedLine = z.object({ type: z.literal('heal-failed'), id: z.string(), at: z.number(), error: z.string() });

export const LedgerLine = z.discriminatedUnion('type', [InjectLine, AppliedLine, InjectFailedLine, HealedLine, HealFailedLine]);
export type LedgerLine = z.infer<typeof LedgerLine>;
export type InjectLine = z.infer<typeof InjectLine>;
export type HealedLine = z.infer<typeof HealedLine>;

/** One fault folded from its lines. */
export interface LedgerFault {
  inject: InjectLine;
  /** Real inject time (ms epoch): the `applied` line's time, else the intent time. */
  injectedAt: number;
  applied: boolean;
  healedAt?: number;
  healed?: HealedLine;
  healErrors: string[];
  injectError?: string;
}

export function defaultLedgerPath(): string {
  return resolve(process.env.CHAOS_LEDGER ?? '.state/chaos-ledger.jsonl');
}

export class Ledger {
  readonly path: string;
  constructor(path: string = defaultLedgerPath()) {
    this.path = resolve(path);
  }

  /** Appends one line in one write() and fsyncs it (and, the first time, the folder) before returning. */
  append(line: LedgerLine): void {
    const created = !existsSync(this.path);
    if (created) mkdirSync(dirname(this.path), { recursive: true });
    const { type, ...rest } = line;
    const bytes = Buffer.from(JSON.stringify({ type, ...rest }) + '\n'); // "type" first: see parseLine
    const fd = openSync(this.path, 'a');
    try {
      const written = writeSync(fd, bytes);
      if (written !== bytes.length) throw new Error(`ledger ${this.path}: short write (${written} of ${bytes.length} bytes)`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) {
      const dfd = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    }
  }

  /** Every parseable line; a torn line (a writer killed mid-write) is skipped, a whole line glued after it is kept. */
  lines(): LedgerLine[] {
    if (!existsSync(this.path)) return [];
    const out: LedgerLine[] = [];
    for (const text of readFileSync(this.path, 'utf8').split('\n')) {
      const line = text.trim() ? parseLine(text) : undefined;
      if (line) out.push(line);
    }
    return out;
  }

  faults(): LedgerFault[] {
    const byId = new Map<string, LedgerFault>();
    for (const line of this.lines()) {
      if (line.type === 'inject') {
        byId.set(line.id, { inject: line, injectedAt: line.at, applied: false, healErrors: [] });
        continue;
      }
      const f = byId.get(line.id);
      if (!f) continue;
      if (line.type === 'applied') {
        f.applied = true;
        f.injectedAt = line.at;
      } else if (line.type === 'inject-failed') f.injectError = line.error;
      else if (line.type === 'healed') {
        f.healed = line;
        f.healedAt = line.at;
      } else f.healErrors.push(line.error);
    }
    return [...byId.values()];
  }

  /** Faults injected (or about to be: the intent line is enough) and not healed. */
  active(): LedgerFault[] {
    return this.faults().filter((f) => !f.healed);
  }

  get(id: string): LedgerFault | undefined {
    return this.faults().find((f) => f.inject.id === id);
  }

  /** Active faults on this node of this deployment (name and URL, as a target file names them), by any run. */
  activeOn(node: { name: string; url: string }): LedgerFault[] {
    return this.active().filter((f) => f.inject.node === node.name && f.inject.nodeUrl === node.url);
  }
}

/** A ledger line, or undefined; a torn fragment before a whole line (no newline between them) yields that line. */
function parseLine(text: string): LedgerLine | undefined {
  for (let at = 0; at >= 0; at = text.indexOf('{"type":', at + 1)) {
    try {
      const parsed = LedgerLine.safeParse(JSON.parse(text.slice(at)));
      if (parsed.success) return parsed.data;
    } catch {
      /* torn */
    }
  }
  return undefined;
}

/** The identity of this process as a fault's owner. */
export function selfAsOwner(targetFile?: string): NonNullable<InjectLine['owner']> {
  const startTime = readStat(process.pid)?.startTime;
  return { pid: process.pid, ...(startTime !== undefined ? { startTime } : {}), ...(targetFile ? { targetFile } : {}) };
}

/** Whether the process that injected the fault still runs (pid alive with the same start time); undefined: not recorded. */
export function ownerAlive(f: LedgerFault): boolean | undefined {
  const owner = f.inject.owner;
  if (!owner) return undefined;
  const st = readStat(owner.pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return owner.startTime === undefined || st.startTime === owner.startTime;
}

let seq = 0;
export function newFaultId(kind: string, node: string): string {
  seq += 1;
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}-${seq}-${kind}-${node}`;
}
