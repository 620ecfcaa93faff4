/**
 * Pieces every command that runs load shares (smoke, drill): the signal that ends a run early, and the HTML
 * report rendered after the verdict.
 */
import { basename } from 'node:path';
import type { LogFn } from './log.js';
import { updateSummary } from './run-report.js';
import type { Durations, RunSummary } from './summary.js';

/** Thrown where a run stops early because of SIGINT or SIGTERM; the command exits 130 or 143 after cleaning up. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** The HTML report (report/); a failure to render is logged but does not change the verdict. */
export async function renderHtmlReport(runDir: string, log: LogFn): Promise<string | undefined> {
  try {
    const { writeRunReport } = await import('../report/index.js');
    const path = await writeRunReport(runDir);
    log(`wrote ${path}`);
    return path;
  } catch (err) {
    log(`no HTML report: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/**
 * The end of a judged run, the same for the smoke and the drill: the HTML report, then the target's teardown
 * (timed into `durations`), then the final timings and files written back into summary.json.
 */
export async function closeRun(opts: {
  runDir: string;
  summary: RunSummary;
  durations: Durations;
  startedAt: Date;
  teardown: () => Promise<void>;
  log: LogFn;
}): Promise<RunSummary> {
  const { runDir, summary, durations, startedAt } = opts;
  const html = await renderHtmlReport(runDir, opts.log);
  await opts.teardown();
  if (html) summary.files = { ...summary.files, report: basename(html) };
  summary.durations = { ...durations, totalMs: Date.now() - startedAt.getTime() };
  summary.finishedAt = new Date().toISOString();
  await updateSummary(runDir, summary);
  return summary;
}

/** 0 pass, 1 fail; 130/143 when SIGINT/SIGTERM ended the run (after its clean-up). */
export function exitCodeOf(verdict: RunSummary['verdict'], interrupted?: NodeJS.Signals): number {
  if (interrupted) return interrupted === 'SIGINT' ? 130 : 143;
  return verdict === 'pass' ? 0 : 1;
}
