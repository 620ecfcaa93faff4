/**
 * The integrity step of a smoke, a drill or a split run's merge: after k6, before the verdict (the target is
 * still up). One check over the history of every raw file given (a merge: one per part). Returns what joins the
 * run: thresholds, errors (a check that could not run fails the run) and the file name.
 */
import { existsSync } from 'node:fs';
import type { ThresholdResult } from '../runner/summary.js';
import type { TargetFile } from '../runner/target-file.js';
import { getProfile, PROFILE_NAMES, type ProfileName } from '../lib/profiles.js';
import { checkIntegrity, formatIntegrity, INTEGRITY_FILE, type IntegrityOptions, type IntegrityReport } from './index.js';

export interface IntegrityStep {
  thresholds: ThresholdResult[];
  errors: string[];
  files: Record<string, string>;
  report?: IntegrityReport;
  table?: string;
}

export async function integrityStep(
  a: { rawPath: string | readonly string[]; target: TargetFile; runDir: string; runId: string; options: IntegrityOptions; profile?: string },
  log: (line: string) => void,
): Promise<IntegrityStep> {
  const rawFiles = (typeof a.rawPath === 'string' ? [a.rawPath] : [...a.rawPath]).filter((p) => existsSync(p));
  if (rawFiles.length === 0) {
    log('no k6 raw output: integrity not checked');
    return { thresholds: [], errors: [], files: {} };
  }
  const t0 = Date.now();
  try {
    // The profile's targets (loss target, order); an unknown name (e.g. a merged run of another tool) has none.
    const known = (PROFILE_NAMES as readonly string[]).includes(a.profile ?? '');
    const profileTargets = known ? getProfile(a.profile as ProfileName).integrity : undefined;
    const report = await checkIntegrity({ rawFiles, target: a.target, runDir: a.runDir, runId: a.runId, ...a.options, ...(profileTargets ? { profileTargets } : {}), log });
    const table = formatIntegrity(report);
    log(`checked ${report.details.messages} messages in ${report.details.rooms} rooms (${rawFiles.length} raw file${rawFiles.length > 1 ? 's' : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s: wrote ${INTEGRITY_FILE}`);
    return { thresholds: report.thresholds, errors: [], files: { integrity: INTEGRITY_FILE }, report, table };
  } catch (err) {
    const msg = `integrity check failed: ${(err as Error).message}`;
    log(msg);
    return { thresholds: [], errors: [msg], files: {} };
  }
}
