/**
 * The fault ledger: an append-only JSON-lines file. A fault's `inject` line is written and fsynced BEFORE the
 * fault is applied, carrying everything its driver needs to heal it (pid, command line, environment, toxic
 * name...), so a drill killed with SIGKILL leaves enough behind for `npm run chaos -- heal`. After applying,
 * an `applied` line carries the real inject timestamp; after healing, a `healed` line closes the fault.
 *
 * A fault is active while it has an `inject` line and no `healed` line. Each line is one write() with O_APPEND
 * (whole or, when a writer dies mid-write, torn at the end of the file), so several processes (a drill and
 * `chaos heal`) can write the same ledger (the kernel orders appends to one file). A writer that finds the file
 * not ending in a newline (a torn line) starts its line on a new one, so the torn fragment never swallows it.
 * A torn line is a ledger line's beginning (`{"type":"`) that is not JSON: it is tolerated, because no fault
 * hides behind one (an inject line is written before its fault is applied, and a lost `healed` line only
 * leaves a healed fault to heal again).
 *
 * Trust: the file is created readable and writable by its owner only (0600), and a ledger that another user owns
 * or may write is not acted on (a ledger line names a command that heal would run). Every line is validated,
 * an inject line against the schema of its driver (chaos/handles.ts); `problems()` lists every line that is not
 * valid (except a torn last line), and `chaos status` / `chaos heal` report them and exit 1.
 */
import { accessSync, closeSync, constants, existsSync, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
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
    const text = JSON.stringify(line) + '\n';
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
    const rows = text.split('\n');
    rows.forEach((row, i) => {
      if (!row.trim()) return;
      const torn = () => row.startsWith('{"type":"');
      if (Buffer.byteLength(row) > MAX_LINE_BYTES) return void problems.push({ line: i + 1, message: `longer than ${MAX_LINE_BYTES} bytes` });
      let json: unknown;
      try {
        json = JSON.parse(row);
      } catch {
        if (!torn()) problems.push({ line: i + 1, message: 'not JSON' });
        return;
      }
      const parsed = LedgerLine.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return void problems.push({ line: i + 1, message: `not a ledger line: ${issue.path.join('.') || '(line)'}: ${issue.message}` });
      }
      const l = parsed.data;
      if (l.type === 'inject') {
        const why = handleProblem(l.driver, l.fault, l.node, l.handle);
        if (why) return void problems.push({ line: i + 1, message: `inject ${l.id}: ${why}` });
      }
      lines.push(l);
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
}

let seq = 0;
export function newFaultId(kind: string, node: string): string {
  seq += 1;
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}-${seq}-${kind}-${node}`;
}
