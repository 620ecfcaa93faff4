/**
 * load-weekly.yml follows the split-run procedure: prepare (the shared hot room) before the runner matrix, every
 * runner given the rooms file, and the merge job running the integrity check against the same staging target
 * as the runners (the same six secrets), never with --skip-integrity. (actionlint: tests/runner/workflow.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../runner/paths.js';
import { TARGET_ENV } from '../../runner/smoke-config.js';
import { DEFAULT_CAPACITY, planRunners } from '../../split/plan.js';

interface Step { name?: string; run?: string; uses?: string; env?: Record<string, string>; with?: Record<string, unknown> }
interface Job { needs?: string | string[]; steps: Step[] }
const STAGES = ['baseline', 'stage1', 'stage2', 'stage3'] as const;

const wf = parse(readFileSync(join(repoRoot, '.github/workflows/load-weekly.yml'), 'utf8')) as { jobs: Record<string, Job> };
const stepRunning = (job: Job, cmd: RegExp) => job.steps.find((s) => s.run !== undefined && cmd.test(s.run));
const needs = (job: Job) => [job.needs ?? []].flat();

describe('load-weekly workflow', () => {
  it('prepare makes the shared rooms once against the staging target, and every runner is given them', () => {
    const prepare = wf.jobs['prepare']!;
    const step = stepRunning(prepare, /npm run load -- prepare /)!;
    expect(step.run).toContain('--allow-remote');
    const out = /--out (\S+)/.exec(step.run!)![1]!;
    expect(prepare.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.with?.['path']).toBe(out);
    const runner = wf.jobs['runner']!;
    expect(needs(runner)).toContain('prepare');
    expect(runner.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))?.with?.['name']).toBe(prepare.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.with?.['name']);
    expect(stepRunning(runner, /npm run load -- --profile/)!.run).toContain(`--rooms ${out}`);
  });

  it('the merge job checks integrity against the runners\' target (same secrets), never skipping it', () => {
    const runnerEnv = stepRunning(wf.jobs['runner']!, /npm run load -- --profile/)!.env!;
    const prepareEnv = stepRunning(wf.jobs['prepare']!, /npm run load -- prepare/)!.env!;
    const merge = stepRunning(wf.jobs['merge']!, /npm run load -- merge /)!;
    for (const k of TARGET_ENV) {
      expect(runnerEnv[k], k).toMatch(/^\$\{\{ secrets\.STAGING_[A-Z_]+ \}\}$/);
      expect(merge.env?.[k], k).toBe(runnerEnv[k]);
      expect(prepareEnv[k], k).toBe(runnerEnv[k]);
    }
    expect(merge.run).toContain('--allow-remote');
    expect(merge.run).not.toContain('--skip-integrity');
  });

  it('runs as many runners per stage as `npm run load -- plan` computes from the default (benchmarked) capacity', () => {
    const plan = wf.jobs['plan']!.steps.map((st) => st.run ?? '').join('\n');
    for (const stage of STAGES) {
      const m = new RegExp(`${stage}\\) n=(\\d+) ;;`).exec(plan);
      expect(m, `no runner count for ${stage} in the plan job`).not.toBeNull();
      expect(Number(m![1]), stage).toBe(planRunners(stage, 1, DEFAULT_CAPACITY).runners);
    }
  });
});
