/**
 * Running `npm run smoke` / `npm run drill` as a user does, for the integrity tests: the run directory's
 * integrity.json, summary.json and junit.xml read back.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runner/paths.js';
import { readRunSummary, type RunSummary } from '../../runner/summary.js';
import type { IntegrityReport } from '../../integrity/index.js';
import { expect } from 'vitest';
import { tempDir } from '../chaos/helpers.js';

const TSX = join(repoRoot, 'node_modules/tsx/dist/cli.mjs');
const ledgerPath = join(tempDir('integrity-drill-'), 'ledger.jsonl');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  runDir?: string;
  integrity?: IntegrityReport;
  summary?: RunSummary;
  junit?: string;
}

const CLEARED = ['CHAT_URL', 'AUTH_URL', 'WS_URL', 'TENANT_ID', 'LOGIN_EMAIL', 'LOGIN_PASSWORD', 'TARGET_FLAWS', 'SCALE', 'DURATION', 'PROFILE', 'FAULT_WINDOWS', 'USER_POOL', 'SLO'];

export function run(cli: 'smoke' | 'drill', args: string[], env: Record<string, string>): Promise<Ran> {
  const script = cli === 'smoke' ? 'runner/cli/smoke.ts' : 'chaos/cli/drill.ts';
  const extra = cli === 'drill' ? ['--ledger', ledgerPath] : [];
  const cleanEnv: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(cleanEnv)) if (CLEARED.includes(k) || k.startsWith('INTEGRITY_') || k.startsWith('TARGET_FLAW')) delete cleanEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, script, ...extra, ...args], { cwd: repoRoot, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /^run: (\S+)/m.exec(stdout);
      const r: Ran = { code, stdout, stderr };
      if (m) {
        const runDir = join(repoRoot, 'reports', m[1]!);
        r.runDir = runDir;
        if (existsSync(join(runDir, 'integrity.json'))) r.integrity = JSON.parse(readFileSync(join(runDir, 'integrity.json'), 'utf8')) as IntegrityReport;
        if (existsSync(join(runDir, 'summary.json'))) r.summary = readRunSummary(join(runDir, 'summary.json'));
        if (existsSync(join(runDir, 'junit.xml'))) r.junit = readFileSync(join(runDir, 'junit.xml'), 'utf8');
      }
      resolve(r);
    });
  });
}

export const byId = (r: Ran, id: string) => r.summary?.thresholds.find((t) => t.id === id);
export const diag = (r: Ran) => `exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-3000)}`;

/** A threshold failed in the summary and in junit.xml, and the printed summary names it. */
export function failsByName(r: Ran, id: string): void {
  const t = byId(r, id);
  expect(t, `${id} in summary.json\n${diag(r)}`).toBeDefined();
  expect(t!.result, `${id}\n${diag(r)}`).toBe('fail');
  expect(r.junit).toContain(`classname="k6.${r.summary!.kind}.${r.summary!.profile}.${t!.metric}"`);
  expect(r.stdout).toMatch(new RegExp(`FAIL\\s+${id.replace(/\./g, '\\.')}: `));
}
