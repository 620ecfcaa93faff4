/**
 * The drill steps of issue 16, added to chaos/drill/run.ts:
 *   slowPathStep      (after the target) a slow-consumer drill's slow path: its toxiproxy, the fault target
 *                     `ws-slow`, and SLOW_CONSUMERS for k6; stopped at teardown
 *   sentinelWatchStep (before the load) with Redis behind Sentinel: the sentinels polled for the primary
 *   dataTierStep      (after the figures) the checkers of faults that take Redis or PostgreSQL away
 *                     (chaos/data-tier.ts: fanout_resume, pg_recovery_time; chaos/sentinel.ts: sentinel_promotion
 *                     for the primary of a Redis behind Sentinel) and the slow-consumer figures
 *   sentinelUndelivered (after the integrity check) the messages undelivered across a Sentinel failover
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
import { judgePromotion, formatPromotion, promotionFigures, SentinelWatcher } from '../sentinel.js';
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

/** With Redis behind Sentinel (the target file's redisSentinel): a watcher polling the sentinels, stopped at teardown. */
export async function sentinelWatchStep(ctx: RunContext, target: TargetFile): Promise<SentinelWatcher | undefined> {
  if (!target.redisSentinel) return undefined;
  const w = new SentinelWatcher(target.redisSentinel);
  await w.start();
  ctx.teardown.push('stopping the sentinel watcher', async () => w.stop());
  const first = w.samples.filter((s) => s.primary).map((s) => `${s.sentinel} → ${s.primary}`);
  ctx.log(`sentinel: master "${target.redisSentinel.masterName}": ${first.length ? first.join(', ') : 'no sentinel answered'}`);
  return w;
}

export async function dataTierStep(o: { input: DrillInput; run: DrillRun; target: TargetFile; watchers: Watchers; k6: K6RunResult; report: DrillReport; sentinel?: SentinelWatcher }): Promise<void> {
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
      const sentinel = target.redisSentinel;
      // a restart is over before a sentinel calls the primary down (down-after): judged as Redis back, below
      if (tiers[i] === 'redis' && sentinel && o.sentinel && f.fault !== 'restart') {
        f.sentinel = promotionFigures(o.sentinel.samples, { masterName: sentinel.masterName, sentinels: sentinel.sentinels.length, injectAt: lf.inject.at, endAt: Date.now() }, acks);
        run.errors.push(...judgePromotion(f.fault, f.node, f.sentinel, spec.slo.maxPromotionS, spec.slo.maxResumeS));
      } else if (tiers[i] === 'redis') {
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
  const lines = report.faults.flatMap((f) => [...formatDataTier(f), ...formatPromotion(f)]);
  if (lines.length) ctx.out(['data tier:', ...lines].join('\n'));
}

/** The integrity check's undelivered count beside each Sentinel failover's figures (the whole run: what the failover cost). */
export function sentinelUndelivered(report: DrillReport, undelivered: number | undefined): void {
  for (const f of report.faults) if (f.sentinel && undelivered !== undefined) f.sentinel.undelivered = undelivered;
}
