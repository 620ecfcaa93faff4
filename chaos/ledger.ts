/**
 * The fault ledger: an append-only JSON-lines file. A fault's `inject` line is written and fsynced BEFORE the
 * fault is applied, carrying everything its driver needs to heal it (pid, command line, environment, toxic
 * name...), so a drill killed with SIGKILL leaves enough behind for `npm run chaos -- heal`. After applying,
 * an `applied` line carries the real inject timestamp; after healing, a `healed` line closes the fault.
 *
 * A fault is active while it has an `inject` line and no `healed` line. Several processes (drills side by side,
 * `chaos heal`) write the same ledger: each line is ONE write() with O_APPEND (the kernel appends it whole at the
 * end, never interleaved with another writer's), so a line is there whole or, when its writer died mid-write,
 * torn at the end of the file. A writer that finds the file not ending in a newline (a torn line) starts its
 * line on a new one; a line glued after a torn fragment (a writer of an older version) is still read. A torn line
 * is a ledger line's beginning (`{"type":"`) that is not JSON: it is tolerated, because no fault hides behind one
 * (an inject line is written before its fault is applied, and a lost `healed` line only leaves a healed fault to
 * heal again).
 *
 * The inject line names its owner (the drill's or the CLI's pid and start time, and its target file) and the
 * faulted node's URL, so `activeOn` tells which faults are on a node of one deployment and whether their drill
 * still runs.
 *
 * Trust: the file is created readable and writable by its owner only (0600), and a ledger that another user owns
 * or may write is not acted on (a ledger line names a command that heal would run). Every line is validated,
 * an inject line against the schema of its driver (chaos/handles.ts); `problems()` lists every line that is not
 * valid (except a torn line), and `chaos status` / `chaos heal` report them and exit 1.
 */
import { accessSync, closeSync, constants, existsSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readStat } from './drivers/proc.js';
import { FAULT_KINDS } from './faults.js';
import { handleProblem } from './handles.js';

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

/** The longest line a ledger takes (a process handle with a large environment is tens of KB). */
export const MAX_LINE_BYTES = 1024 * 1024;
/** The largest ledger file read. */
export const MAX_LEDGER_BYTES = 256 * 1024 * 1024;

/** A line (1-based number) or the file itself that the ledger cannot use. */
export interface LedgerProblem {
  line?: number;
  message: string;
}

export function formatProblem(path: string, p: LedgerProblem): string {
  return `ledger ${path}${p.line !== undefined ? ` line ${p.line}` : ''}: ${p.message}`;
}

/**
 * Why the ledger cannot be written at `path` (a folder there, no write permission on it or on the folder that
 * would hold it), or undefined when it can: checked before a drill or an inject starts anything.
 */
export function ledgerPathProblem(path: string): string | undefined {
  const full = resolve(path);
  try {
    if (existsSync(full)) {
      if (!statSync(full).isFile()) return `${full} is not a file`;
      accessSync(full, constants.R_OK | constants.W_OK);
      return undefined;
    }
    let dir = dirname(full);
    while (!existsSync(dir)) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    return `cannot write ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

export function defaultLedgerPath(): string {
  return resolve(process.env.CHAOS_LEDGER ?? '.state/chaos-ledger.jsonl');
}

export class Ledger {
  readonly path: string;
  constructor(path: string = defaultLedgerPath()) {
    this.path = resolve(path);
  }

  /**
   * Appends one line in one write() and fsyncs it (and, the first time, the folder) before returning. The file is
   * created 0600; a line longer than MAX_LINE_BYTES is refused before anything is written.
   */
  append(line: LedgerLine): void {
    const { type, ...rest } = line;
    const text = JSON.stringify({ type, ...rest }) + '\n'; // "type" first: a torn line starts with {"type":" (see read)
    if (Buffer.byteLength(text) > MAX_LINE_BYTES) throw new Error(`ledger ${this.path}: a ${line.type} line of ${Buffer.byteLength(text)} bytes is longer than ${MAX_LINE_BYTES}`);
    const created = !existsSync(this.path);
    if (created) mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, 'a+', 0o600);
    try {
      const st = fstatSync(fd);
      if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fchmodSync(fd, 0o600);
      let data = text;
      if (st.size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, st.size - 1);
        if (last[0] !== 0x0a) data = '\n' + text;
      }
      const buf = Buffer.from(data);
      const n = writeSync(fd, buf);
      if (n !== buf.length) throw new Error(`ledger ${this.path}: wrote ${n} of ${buf.length} bytes`);
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

  /**
   * Every valid line, and every problem: the file unreadable, owned or writable by another user, too large; a line
   * that is not JSON, not a ledger line, or an inject line whose handle does not fit its driver. A torn line (see
   * the module doc) is tolerated.
   */
  read(): { lines: LedgerLine[]; problems: LedgerProblem[] } {
    const lines: LedgerLine[] = [];
    const problems: LedgerProblem[] = [];
    if (!existsSync(this.path)) return { lines, problems };
    let text: string;
    try {
      const st = statSync(this.path);
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) problems.push({ message: `owned by uid ${st.uid}, not by you (uid ${uid}): not trusted (its lines name commands heal would run)` });
      if ((st.mode & 0o022) !== 0) problems.push({ message: `writable by other users (mode ${(st.mode & 0o777).toString(8)}): not trusted; chmod 600 it after checking its lines` });
      if (st.size > MAX_LEDGER_BYTES) return { lines, problems: [...problems, { message: `${st.size} bytes, more than ${MAX_LEDGER_BYTES}` }] };
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      return { lines, problems: [...problems, { message: `cannot read it: ${(err as Error).message}` }] };
    }
    text.split('\n').forEach((row, i) => {
      if (!row.trim()) return;
      if (Buffer.byteLength(row) > MAX_LINE_BYTES) return void problems.push({ line: i + 1, message: `longer than ${MAX_LINE_BYTES} bytes` });
      const r = parseRow(row);
      if (r.problem) return void problems.push({ line: i + 1, message: r.problem });
      if (r.line) lines.push(r.line);
    });
    return { lines, problems };
  }

  /** Every valid line (see read()). */
  lines(): LedgerLine[] {
    return this.read().lines;
  }

  /** What makes the ledger not fully usable (see read()); empty when every line is valid. */
  problems(): LedgerProblem[] {
    return this.read().problems;
  }

  /** Whether heal may act on this ledger's lines: nobody but its owner could have written them. */
  trusted(): boolean {
    return !this.read().problems.some((p) => p.line === undefined);
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

/**
 * One row of the file: a valid line, a problem, or neither (a torn fragment, tolerated). A row that is a torn
 * fragment with a whole line glued after it (no newline between them) yields that line.
 */
function parseRow(row: string): { line?: LedgerLine; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(row);
  } catch {
    const torn = row.startsWith('{"type":"');
    const glued = torn ? row.indexOf('{"type":"', 1) : -1;
    if (glued > 0) return parseRow(row.slice(glued));
    return torn ? {} : { problem: 'not JSON' };
  }
  const parsed = LedgerLine.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { problem: `not a ledger line: ${issue.path.join('.') || '(line)'}: ${issue.message}` };
  }
  const l = parsed.data;
  if (l.type === 'inject') {
    const why = handleProblem(l.driver, l.fault, l.node, l.handle);
    if (why) return { problem: `inject ${l.id}: ${why}` };
  }
  return { line: l };
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
