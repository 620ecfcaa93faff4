/**
 * The integrity step of a smoke or a drill: after k6, before finishRun (the target is still up). Returns what
 * joins the run: thresholds, errors (a check that could not run fails the run) and the file name.
 */
import { existsSync } from 'node:fs';
import type { ThresholdResult } from '../harness/summary.js';
import type { TargetFile } from '../harness/target-file.js';
import { checkIntegrity, formatIntegrity, INTEGRITY_FILE, type IntegrityOptions, type IntegrityReport } from './index.js';

export interface IntegrityStep {
  thresholds: ThresholdResult[];
  errors: string[];
  files: Record<string, string>;
  report?: IntegrityReport;
  table?: string;
}

export async function integrityStep(
  a: { rawPath: string; target: TargetFile; runDir: string; runId: string; options: IntegrityOptions },
  log: (line: string) => void,
): Promise<IntegrityStep> {
  if (!existsSync(a.rawPath)) {
    log('no k6 raw output: integrity not checked');
    return { thresholds: [], errors: [], files: {} };
  }
  const t0 = Date.now();
  try {
    const report = await checkIntegrity({ rawFiles: [a.rawPath], target: a.target, runDir: a.runDir, runId: a.runId, ...a.options });
    const table = formatIntegrity(report);
    log(`checked ${report.details.messages} messages in ${report.details.rooms} rooms in ${((Date.now() - t0) / 1000).toFixed(1)} s: wrote ${INTEGRITY_FILE}`);
    return { thresholds: report.thresholds, errors: [], files: { integrity: INTEGRITY_FILE }, report, table };
  } catch (err) {
    const msg = `integrity check failed: ${(err as Error).message}`;
    log(msg);
    return { thresholds: [], errors: [msg], files: {} };
  }
}
