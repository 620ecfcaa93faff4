/**
 * Pieces every command that runs load shares (smoke, drill): the signal that ends a run early, and the HTML
 * report rendered after the verdict.
 */
import type { LogFn } from './log.js';

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
