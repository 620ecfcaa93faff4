/**
 * `npm run load -- --segment i/n --local-parts k`: runner i of n runs its share as k k6 processes on this machine
 * (a runner with more cores: one k6 process holds only so many sockets at low latency, see split/README.md),
 * parts (i-1)k+1 .. ik of n*k, each a normal part (part.ts: its own k6, folder and part.json), started together
 * in this process (one provisioning, one build). Exit: 0 every part ran to its end, 130/143 interrupted, 2 bad
 * usage, else 1; the merge takes the n*k parts of every runner.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { progress } from '../runner/log.js';
import { reportsDir } from '../runner/paths.js';
import { makeRunId } from '../runner/run-dir.js';
import type { PartConfig } from './config.js';
import { runPart, type PartIo } from './part.js';
import { localSegments, partDirName } from './segments.js';

/** One exit code for the parts: the first of 2 (usage), 130/143 (a signal), 1 (a part failed), else 0. */
export function localPartsCode(codes: readonly number[]): number {
  for (const c of [2, 130, 143, 1]) if (codes.includes(c)) return c;
  return codes.find((c) => c !== 0) ?? 0;
}

export async function runLocalParts(config: PartConfig, io: PartIo = {}): Promise<{ code: number; partDirs: string[] }> {
  const sink = io.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const log = progress('load', sink);
  const segments = localSegments(config.segment, config.localParts);
  // one run id for every local part (a split has one from its rooms file; a 1/1 runner split locally too)
  const runId = config.runId ?? makeRunId('load', config.profile);
  // one signal source for the k parts: a SIGINT stops every k6
  const signals = new EventEmitter().setMaxListeners(0);
  const source = io.signals ?? process;
  const forward = { SIGINT: () => signals.emit('SIGINT', 'SIGINT'), SIGTERM: () => signals.emit('SIGTERM', 'SIGTERM') };
  source.on('SIGINT', forward.SIGINT);
  source.on('SIGTERM', forward.SIGTERM);
  log(`runner ${config.segment.index}/${config.segment.count} as ${segments.length} local k6 processes: parts ${segments.map(partDirName).join(', ')} of run ${runId}`);
  try {
    const results = await Promise.all(segments.map((segment) => runPart({ ...config, runId, segment, localParts: 1 }, { ...io, signals })));
    const codes = results.map((r) => r.code);
    const code = localPartsCode(codes);
    const failed = segments.filter((_, i) => codes[i] !== 0).map(partDirName);
    log(`${segments.length - failed.length} of ${segments.length} local parts ran to their end${failed.length ? `; failed: ${failed.join(', ')}` : ''} (merge every runner's parts: npm run load -- merge ${join(io.root ?? reportsDir, runId)})`);
    return { code, partDirs: results.flatMap((r) => (r.partDir ? [r.partDir] : [])) };
  } finally {
    source.off('SIGINT', forward.SIGINT);
    source.off('SIGTERM', forward.SIGTERM);
  }
}
