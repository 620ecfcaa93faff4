/** .github/workflows: actionlint-clean (actionlint provisioned like k6), and the smoke workflow does what it says. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { specFromFlags } from '../../chaos/drill/spec.js';
import { ensureActionlint } from '../../runner/provision.js';
import { repoRoot } from '../../runner/paths.js';

let actionlint: string;
beforeAll(async () => {
  actionlint = await ensureActionlint({ log: () => {} });
}, 300_000);

const workflowsDir = join(repoRoot, '.github/workflows');

function lint(files: string[], cwd: string) {
  return spawnSync(actionlint, ['-no-color', ...files], { cwd, encoding: 'utf8' });
}

describe('workflows', () => {
  it('every workflow passes actionlint', () => {
    const files = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(workflowsDir, f));
    expect(files).toContain(join(workflowsDir, 'smoke.yml'));
    const r = lint(files, repoRoot);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the manual drill workflow offers every drill file of chaos/drills/, and each one is a valid drill', () => {
    const wf = parse(readFileSync(join(workflowsDir, 'chaos-drill.yml'), 'utf8')) as { on: { workflow_dispatch: { inputs: Record<string, { options?: string[] }> } } };
    const offered = wf.on.workflow_dispatch.inputs['drill_file']!.options!;
    const files = readdirSync(join(repoRoot, 'chaos', 'drills')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
    expect(offered.filter((o) => o !== 'none').sort()).toEqual(files);
    for (const f of files) expect(() => specFromFlags({ file: join(repoRoot, 'chaos', 'drills', `${f}.yaml`), profile: 'failover' }), f).not.toThrow();
  });

  it('actionlint does catch a broken workflow (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actionlint-'));
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    const bad = join(dir, '.github/workflows/bad.yml');
    writeFileSync(bad, 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope_nothing }}\n      - uses: actions/checkout@v4\n        with: 3\n');
    const r = lint([bad], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/bad\.yml:\d+:\d+:/);
  });

  it('smoke.yml runs npm ci and npm run smoke on pull requests and pushes, and always uploads reports/', () => {
    const wf = parse(readFileSync(join(workflowsDir, 'smoke.yml'), 'utf8')) as {
      on: Record<string, unknown>;
      jobs: Record<string, { steps: { uses?: string; run?: string; if?: string; with?: Record<string, unknown> }[] }>;
    };
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    const steps = Object.values(wf.jobs)[0]!.steps;
    const idx = (p: (s: (typeof steps)[number]) => boolean) => steps.findIndex(p);
    const node = steps[idx((s) => s.uses?.startsWith('actions/setup-node@') ?? false)]!;
    expect(node.with?.['node-version']).toBe(20);
    expect(idx((s) => s.uses?.startsWith('actions/setup-go@') ?? false)).toBeGreaterThan(-1);
    const cache = steps[idx((s) => s.uses?.startsWith('actions/cache@') ?? false)]!;
    expect(cache.with?.['path']).toBe('.tools');
    const ci = idx((s) => s.run?.startsWith('npm ci') ?? false);
    const smoke = idx((s) => s.run === 'npm run smoke');
    const upload = idx((s) => s.uses?.startsWith('actions/upload-artifact@') ?? false);
    expect(ci).toBeGreaterThan(-1);
    expect(smoke).toBeGreaterThan(ci);
    expect(upload).toBeGreaterThan(smoke);
    expect(steps[upload]!.if).toBe('always()');
    expect(steps[upload]!.with?.['path']).toBe('reports/');
  });
});
