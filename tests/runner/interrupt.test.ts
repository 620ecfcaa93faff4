/**
 * Ctrl-C and SIGTERM keep the run's data: k6 gets ONE signal (it runs in its own process group, so a terminal's
 * Ctrl-C to the foreground group does not reach it a second time), ends the test, writes its summary and raw
 * output; the run keeps its thresholds, report and exits 130 / 143. Real k6; about 10 s.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../runner/paths.js';
import { startHttpServer } from './k6-fixture.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function interruptedRun(signal: 'SIGINT' | 'SIGTERM', toGroup: boolean) {
  const server = await startHttpServer();
  const runDir = await mkdtemp(join(tmpdir(), 'interrupt-'));
  dirs.push(runDir);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/runner/fixtures/interrupted-run.ts', runDir, server.url], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('load started')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`fixture exited ${c} before the load started: ${out}`)));
    });
    await new Promise((r) => setTimeout(r, 1500)); // some samples first
    // a terminal's Ctrl-C signals the whole foreground process group; CI's SIGTERM the runner alone
    process.kill(toGroup ? -child.pid! : child.pid!, signal);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { k6Exit: number | null; thresholds: number; files: Record<string, string> };
    return { code, result, runDir, requests: server.requests() };
  } finally {
    await server.close();
  }
}

describe('an interrupted run', () => {
  it('Ctrl-C (SIGINT to the process group): k6 writes its summary, the run keeps thresholds, raw file and report, exit 130', async () => {
    const r = await interruptedRun('SIGINT', true);
    expect(r.code).toBe(130);
    // k6's exit for a run a signal ended (105), after it ran handleSummary; a second SIGINT would have skipped that
    expect(r.result.k6Exit).toBe(105);
    expect(r.result.thresholds).toBe(6);
    expect(existsSync(join(r.runDir, 'k6-summary.json'))).toBe(true);
    expect(existsSync(join(r.runDir, 'k6-raw.json.gz'))).toBe(true);
    expect(r.result.files.report).toBe('report.html');
    expect(existsSync(join(r.runDir, 'report.html'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(r.runDir, 'summary.json'), 'utf8')) as { errors: string[] };
    expect(summary.errors).toContain('interrupted by SIGINT');
    expect(readFileSync(join(r.runDir, 'k6.log'), 'utf8')).not.toMatch(/Aborting k6/);
    expect(r.requests).toBeGreaterThan(0);
  }, 60_000);

  it('SIGTERM to the runner: the same, exit 143', async () => {
    const r = await interruptedRun('SIGTERM', false);
    expect(r.code).toBe(143);
    expect(r.result.k6Exit).toBe(105);
    expect(r.result.thresholds).toBe(6);
  }, 60_000);
});
