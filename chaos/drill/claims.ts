/**
 * Node claims: a drill against a given target claims every node its spec faults before anything starts, so a
 * second drill on one of them is refused even before the first one's fault is injected (the ledger only knows a
 * fault from its inject line on). One file per node of one deployment (`<ledger dir>/drill-claims/<hash of name
 * and URL>.json`), put in place whole with link(2), which fails when the file exists (of two drills starting at
 * once, one gets it), holding the drill's pid and start time; removed when the drill ends. A claim whose drill is
 * gone (SIGKILL) is stale and taken over.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { TargetFile } from '../../runner/target-file.js';
import { UsageError } from '../cli/args.js';
import { readStat } from '../drivers/proc.js';
import { findFaultTarget } from '../fault-targets.js';
import { ownerAlive, type Ledger } from '../ledger.js';
import { busyNodeError, claimedNodeError } from './busy.js';
import type { DrillSpec } from './spec.js';

/** The claims folder beside a ledger (drills sharing a ledger share their claims). */
export function claimsDirOf(ledgerPath: string): string {
  return join(dirname(ledgerPath), 'drill-claims');
}

const Claim = z.object({ node: z.string(), url: z.string(), pid: z.number().int(), startTime: z.number().optional(), at: z.number(), what: z.string() });
export type Claim = z.infer<typeof Claim>;

export interface HeldClaims {
  /** Removes this drill's claim files (those still holding its pid). */
  release(): void;
}

const fileOf = (dir: string, node: { name: string; url: string }) => join(dir, `${createHash('sha256').update(`${node.name} ${node.url}`).digest('hex').slice(0, 16)}.json`);

function readClaim(path: string): Claim | undefined {
  try {
    const r = Claim.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined; // gone (released), or not a claim
  }
}

export function claimAlive(c: Claim): boolean {
  const st = readStat(c.pid);
  return !!st && st.state !== 'Z' && st.state !== 'X' && (c.startTime === undefined || st.startTime === c.startTime);
}

/** Every claim in `dir` whose drill still runs. */
export function liveClaims(dir: string): Claim[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((f) => readClaim(join(dir, f))).filter((c): c is Claim => c !== undefined && claimAlive(c));
}

/**
 * Claims `nodes` for this process (`what`: what the drill does, for the other drill's error). Returns the held
 * claims, or the one-line reason a node is held by another running drill (nothing is left claimed then).
 */
export function claimNodes(dir: string, nodes: readonly { name: string; url: string }[], what: string): HeldClaims | { busy: string; claim: Claim } {
  mkdirSync(dir, { recursive: true });
  const startTime = readStat(process.pid)?.startTime;
  const held: string[] = [];
  const release = () => {
    for (const p of held) if (readClaim(p)?.pid === process.pid) rmSync(p, { force: true });
  };
  const unique = [...new Map(nodes.map((n) => [`${n.name} ${n.url}`, n])).values()];
  for (const node of unique) {
    const path = fileOf(dir, node);
    const mine: Claim = { node: node.name, url: node.url, pid: process.pid, ...(startTime !== undefined ? { startTime } : {}), at: Date.now(), what };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(mine) + '\n');
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, path); // whole, and only when no claim is there
          held.push(path);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const theirs = readClaim(path);
        if (theirs?.pid === process.pid) break; // claimed twice by this process: already held
        if ((theirs && claimAlive(theirs)) || attempt >= 2) {
          release();
          return { busy: node.name, claim: theirs ?? { ...mine, pid: 0, what: 'a claim that keeps coming back' } };
        }
        rmSync(path, { force: true }); // stale (its drill is gone) or not a claim: take it over
      }
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return { release };
}

/**
 * The drill's edge step against a given target, before anything starts: refused (UsageError, exit 2) when a node
 * of its spec has an active fault of another run (ledger) or is claimed by another running drill; else claims
 * its nodes until `release()`.
 */
export function holdDrillNodes(spec: DrillSpec, target: TargetFile, targetPath: string, ledger: Ledger): HeldClaims {
  const error = busyNodeError(spec, target, (node) => ledger.activeOn(node).map((fault) => ({ fault, ownerAlive: ownerAlive(fault) })));
  if (error) throw new UsageError(error);
  const nodes = spec.faults.map((f) => findFaultTarget(target, f.node)).filter((c) => c !== undefined);
  const what = `${spec.name ? `${spec.name}: ` : ''}${spec.faults.map((f) => `${f.fault} on ${f.node} at ${f.at}s for ${f.for}s`).join(', ')} (target ${targetPath})`;
  const held = claimNodes(claimsDirOf(ledger.path), nodes, what);
  if ('busy' in held) throw new UsageError(claimedNodeError(spec, held));
  return held;
}
