/**
 * A stage profile scaled to this machine (baseline × 0.1, 20 s: ~14 k6 VUs, 50 sockets, 1-2.5 REST iterations/s)
 * run as 3 concurrent segment processes against ONE reference target, merged, and compared with one unsplit run
 * (segment 1/1) of the same profile. Tolerance (loopback, shared 2-core machine): the same thresholds, each with
 * the same result; rates within 0.02 absolute; REST store samples within 15 % (arrival rate: the same iterations
 * planned); latency statistics within max(150 ms, 3×). And: a part with a breached threshold fails the merge.
 */
import { copyFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, stopStack, type RunningStack } from '../../target/launcher/stack.js';
import { parsePartConfig } from '../../harness/load/config.js';
import { runPart } from '../../harness/load/part.js';
import { mergeParts } from '../../harness/load/merge.js';
import type { ThresholdResult } from '../../harness/summary.js';

const ENV = { DURATION: '20', USER_POOL: '4' };
let stack: RunningStack | undefined;
let root: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'load-split-'));
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v; // k6 gets the process environment (DURATION, USER_POOL) through runPart
  }
  stack = await startStack({ targetFilePath: join(root, 'target.json') });
}, 120_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  if (stack) await stopStack(stack.targetFilePath);
  await rm(root, { recursive: true, force: true });
});


async function part(runId: string, seg: string): Promise<number> {
  const lines: string[] = [];
  const config = parsePartConfig(['--profile', 'baseline', '--segment', seg, '--run-id', runId, '--target', stack!.targetFilePath, '--scale', '0.1'], { ...process.env, ...ENV });
  const { code } = await runPart(config, { root: join(root, 'reports'), log: (l) => lines.push(l) });
  if (code !== 0) console.error(lines.join('\n'));
  return code;
}

const byName = (ts: ThresholdResult[]) => new Map(ts.map((t) => [t.name, t]));

describe('split run', () => {
  let split: ThresholdResult[] = [];
  let whole: ThresholdResult[] = [];

  it('3 segment processes against one target merge into one passing verdict matching an unsplit run', async () => {
    const codes = await Promise.all(['1/3', '2/3', '3/3'].map((s) => part('split3', s)));
    expect(codes).toEqual([0, 0, 0]);
    const merged = await mergeParts({ dirs: [join(root, 'reports', 'split3')], log: () => {}, report: false, latest: false });
    split = merged.summary.thresholds;
    expect(merged.summary.kind).toBe('load');
    expect(merged.summary.errors).toEqual([]);
    expect(merged.code, JSON.stringify(split.filter((t) => t.result !== 'pass'))).toBe(0);

    expect(await part('whole1', '1/1')).toBe(0);
    const single = await mergeParts({ dirs: [join(root, 'reports', 'whole1')], log: () => {}, report: false, latest: false });
    whole = single.summary.thresholds;
    expect(single.code).toBe(0);

    const a = byName(split);
    const b = byName(whole);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, s] of a) {
      const w = b.get(name)!;
      expect(s.result, name).toBe(w.result);
      expect(s.observed, name).not.toBeNull();
      if (s.aggregation === 'rate') expect(Math.abs(s.observed! - w.observed!), name).toBeLessThanOrEqual(0.02);
      else if (s.unit === 'ms') expect(Math.abs(s.observed! - w.observed!), `${name}: ${s.observed} vs ${w.observed}`).toBeLessThanOrEqual(Math.max(150, 2 * Math.min(s.observed!, w.observed!)));
    }
    const rest = (ts: Map<string, ThresholdResult>) => [...ts.values()].find((t) => t.metric === 'http_req_duration{endpoint:message_list}')!.samples;
    expect(Math.abs(rest(a) - rest(b)) / rest(b)).toBeLessThanOrEqual(0.15);
  }, 200_000);

  it('the merge of a part with a breached threshold fails', async () => {
    const copy = join(root, 'breach');
    await cp(join(root, 'reports', 'split3'), copy, { recursive: true });
    // part 2 also recorded 50 failed message stores: store_success breaks on the merged data
    const raw = join(copy, 'parts', '2-of-3', 'k6-raw.json.gz');
    const failed = Array.from({ length: 500 }, () => JSON.stringify({ metric: 'message_store_success', type: 'Point', data: { time: new Date().toISOString(), value: 0, tags: { transport: 'rest', phase: 'baseline', scenario: 'rest' } } })).join('\n') + '\n';
    await copyFile(raw, raw + '.orig');
    const extra = raw + '.extra.gz';
    await pipeline(Readable.from([failed]), createGzip(), createWriteStream(extra));
    const { concatRaw } = await import('../../harness/load/merge.js');
    await concatRaw([raw + '.orig', extra], raw);
    await rm(join(copy, 'parts', '2-of-3', 'k6-raw.json.gz.orig'));
    await rm(extra);
    const merged = await mergeParts({ dirs: [copy], log: () => {}, report: false, latest: false });
    expect(merged.code).toBe(1);
    const t = merged.summary.thresholds.find((x) => x.id === 'store_success')!;
    expect(t.result).toBe('fail');
    expect(JSON.parse(await readFile(join(copy, 'summary.json'), 'utf8')).verdict).toBe('fail');
  }, 60_000);
});
