/**
 * The fault ledger: an append-only JSON-lines file. A fault's `inject` line is written and fsynced BEFORE the
 * fault is applied, carrying everything its driver needs to heal it (pid, command line, environment, toxic
 * name...), so a drill killed with SIGKILL leaves enough behind for `npm run chaos -- heal`. After applying,
 * an `applied` line carries the real inject timestamp; after healing, a `healed` line closes the fault.
 *
 * A fault is active while it has an `inject` line and no `healed` line. Lines are small appends with O_APPEND,
 * so several processes (a drill and `chaos heal`) can write the same ledger.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
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

  /** Appends one line and fsyncs it (and, the first time, the folder) before returning. */
  append(line: LedgerLine): void {
    const created = !existsSync(this.path);
    if (created) mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, JSON.stringify(line) + '\n');
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

  /** Every parseable line; a torn last line (a writer killed mid-write) is skipped. */
  lines(): LedgerLine[] {
    if (!existsSync(this.path)) return [];
    const out: LedgerLine[] = [];
    for (const text of readFileSync(this.path, 'utf8').split('\n')) {
      if (!text.trim()) continue;
      try {
        const parsed = LedgerLine.safeParse(JSON.parse(text));
        if (parsed.success) out.push(parsed.data);
      } catch {
        /* torn line */
      }
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
}

let seq = 0;
export function newFaultId(kind: string, node: string): string {
  seq += 1;
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}-${seq}-${kind}-${node}`;
}
