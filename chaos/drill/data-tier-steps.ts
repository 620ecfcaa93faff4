/**
 * The drill steps of issue 16, added to chaos/drill/run.ts:
 *   slowPathStep      (after the target) a slow-consumer drill's slow path: its toxiproxy, the fault target
 *                     `ws-slow`, and SLOW_CONSUMERS for k6; stopped at teardown
 *   dataTierStep      (after the figures) the checkers of faults that take Redis or PostgreSQL away
 *                     (chaos/data-tier.ts: fanout_resume, pg_recovery_time) and the slow-consumer figures
 *   printDataTier     their lines beside the other figures
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { K6RunResult } from '../../runner/k6-run.js';
import { writeJson } from '../../runner/run-dir.js';
import type { RunContext } from '../../runner/steps.js';
import type { TargetFile } from '../../runner/target-file.js';
import { formatDataTier, judgePgRecovery, judgeResume, pgRecoveryFigures, readStoreAcks, resumeFigures } from '../data-tier.js';
import { addDrillTarget, dataTierOf } from '../fault-targets.js';
import { formatSlowConsumers, slowConsumerFigures } from '../slow-figures.js';
import { startSlowPath } from '../slow-path.js';
import type { DrillInput } from './edge.js';
import { DRILL_FILE, type DrillReport } from './report.js';
import { slowConsumersEnv } from './slow-consumers.js';
import type { DrillSpec } from './spec.js';
import type { DrillRun, Watchers } from './steps.js';

/** Faults that take a part away (a network slowdown does not): the data tier's return checks apply after them. */
const TAKES_AWAY: readonly string[] = ['stop', 'kill', 'pause', 'restart', 'partition', 'reset'];

/** The k6 environment the slow path adds (none without slowConsumers). */
export async function slowPathStep(ctx: RunContext, spec: DrillSpec, target: TargetFile): Promise<Record<string, string>> {
  if (!spec.slowConsumers) return {};
  const path = await startSlowPath(target.wsUrl, ctx.log);
  const remove = addDrillTarget(path.component);
  ctx.teardown.push('stopping the slow path', async () => {
    remove();
    await path.stop();
  });
  return { SLOW_CONSUMERS: slowConsumersEnv(spec.slowConsumers, path.wsUrl) };
}

export async function dataTierStep(o: { input: DrillInput; run: DrillRun; target: TargetFile; watchers: Watchers; k6: K6RunResult; report: DrillReport }): Promise<void> {
  const { input, run, target, report } = o;
  const spec = input.spec;
  const hasRaw = existsSync(o.k6.paths.raw);
  if (spec.slowConsumers && hasRaw) report.slowConsumers = await slowConsumerFigures(o.k6.paths.raw, spec.slowConsumers.padBytes);
  const tiers = report.faults.map((f) => (TAKES_AWAY.includes(f.fault) ? dataTierOf(target, f.node) : undefined));
  if (tiers.some(Boolean)) {
    const acks = hasRaw ? await readStoreAcks(o.k6.paths.raw) : [];
    const runFaults = input.ledger.faults().filter((f) => f.inject.runId === run.runId);
    report.faults.forEach((f, i) => {
      const lf = runFaults.find((x) => x.inject.id === f.id);
      if (!tiers[i] || !lf) return;
      // the data tier is back when it was started again (restart) or healed (every other fault)
      const backAt = f.fault === 'restart' ? lf.injectedAt : (lf.healedAt ?? Date.now());
      if (tiers[i] === 'redis') {
        f.resume = resumeFigures(acks, { injectAt: lf.inject.at, backAt });
        run.errors.push(...judgeResume(f.fault, f.node, f.resume, spec.slo.maxResumeS));
      } else {
        const nodes = Object.fromEntries(target.dbmanNodes.map((n) => [n.name, { ready: o.watchers.readiness.states(n.name).ready, serving: o.watchers.serving.states(n.name) }]));
        f.pgRecovery = pgRecoveryFigures(backAt, nodes, acks);
        run.errors.push(...judgePgRecovery(f.fault, f.node, f.pgRecovery, spec.slo.maxPgRecoveryS));
      }
    });
  }
  await writeJson(join(run.runDir, DRILL_FILE), report);
}

export function printDataTier(ctx: RunContext, report: DrillReport): void {
  if (report.slowConsumers) ctx.out(formatSlowConsumers(report.slowConsumers).join('\n'));
  const lines = report.faults.flatMap(formatDataTier);
  if (lines.length) ctx.out(['data tier:', ...lines].join('\n'));
}
