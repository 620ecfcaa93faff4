/**
 * Several runs at once in one checkout (issue 19): three `npm run load` parts started at the same instant as
 * separate processes, each building the scenario itself, all finish and merge into one passing verdict (the
 * bundle each k6 reads is content-named and never rewritten). Smoke x1.5 for 10 s (one hot-room VU per part)
 * against one reference target, the hot room prepared once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, stopStack, type RunningStack } from '../../reference-target/launcher/stack.js';
import { repoRoot, reportsDir } from '../../runner/paths.js';
import { mergeParts } from '../../split/merge.js';
import { prepareRun } from '../../split/prepare.js';

const runId = `concurrent-${process.pid}-${Date.now()}`;
let stack: RunningStack | undefined;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'load-concurrent-'));
  stack = await startStack({ targetFilePath: join(root, 'target.json') });
}, 120_000);

afterAll(async () => {
  if (stack) await stopStack(stack.targetFilePath);
  await rm(root, { recursive: true, force: true });
  await rm(join(reportsDir, runId), { recursive: true, force: true });
});

function cliPart(segment: string, rooms: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'split/cli.ts', '--profile', 'smoke', '--scale', '1.5', '--segment', segment, '--rooms', rooms, '--target', stack!.targetFilePath], {
      cwd: repoRoot,
      env: { ...process.env, DURATION: '10', USER_POOL: '4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('parts started at the same instant in one checkout', () => {
  it('3 npm run load processes, each building the scenario, all finish and merge into one passing verdict', async () => {
    const rooms = join(root, 'rooms.json');
    await prepareRun({ target: stack!.target, profile: 'smoke', runId, out: rooms, log: () => {} });
    const runs = await Promise.all(['1/3', '2/3', '3/3'].map((s) => cliPart(s, rooms)));
    for (const r of runs) expect(r.code, r.out.slice(-3000)).toBe(0);
    // each part bundled on its own and gave k6 the content-named bundle
    for (const r of runs) expect(r.out).toMatch(/bundled scenarios\/load\.ts → dist\/load-[0-9a-f]{12}\.js/);
    const merged = await mergeParts({ dirs: [join(reportsDir, runId)], integrity: { target: stack!.target, options: { undeliveredLimit: 0, spanMs: 1000, settleMs: 5000, targets: { lost: null, duplicates: null, undelivered: null } } }, log: () => {}, report: false, latest: false });
    expect(merged.summary.errors).toEqual([]);
    expect(merged.code, JSON.stringify(merged.summary.thresholds.filter((t) => t.result !== 'pass'))).toBe(0);
    const integrity = merged.summary.thresholds.filter((t) => t.id?.startsWith('integrity.'));
    expect(integrity.map((t) => t.id)).toEqual(expect.arrayContaining(['integrity.lost', 'integrity.duplicates', 'integrity.undelivered', 'integrity.unverified', 'integrity.reordered']));
    for (const t of integrity) expect(t.result, t.id).toBe('pass');
  }, 150_000);
});
