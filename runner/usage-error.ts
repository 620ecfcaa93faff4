/**
 * The one refusal of bad input, for every CLI of the suite (smoke, drill, chaos, load, report, bench, stack):
 * a UsageError names the setting the user wrote (`--at`, `SCALE`, `faults.1.node`, `--target chatUrl`) and says
 * what is allowed, on one line; the CLI prints `<program>: <message>` to stderr and exits 2, before anything was
 * started, created or contacted.
 */
import { redactUrls } from '../lib/loopback.js';

export const USAGE_EXIT_CODE = 2;

export class UsageError extends Error {
  readonly exitCode = USAGE_EXIT_CODE;
  /** The flag, variable or file key at fault, e.g. `--profile`, `CHAT_URL`, `faults.1.node`. */
  readonly setting: string;

  /**
   * `new UsageError(setting, message)`, or `new UsageError(message)` for a message that starts with the setting
   * (`--node: no node dbman-9 ...`). The message is made one line, and no URL in it keeps its credentials.
   */
  constructor(settingOrMessage: string, message?: string) {
    const text = oneLine(message ?? settingOrMessage);
    super(text);
    this.name = 'UsageError';
    this.setting = message !== undefined ? settingOrMessage : (/^([^\s:][^:]*?):\s/.exec(text)?.[1] ?? 'arguments');
  }
}

/** Whether an error is a UsageError (also one from another copy of this module, matched by name). */
export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError || (err instanceof Error && err.name === 'UsageError');
}

/** One line, whitespace runs collapsed, credentials in URLs replaced: what a refusal prints. */
export function oneLine(text: string): string {
  return redactUrls(text.replace(/\s+/g, ' ').trim());
}

/** Writes `<program>: <message>` and returns the exit code 2 (for a CLI's catch). */
export function reportUsageError(program: string, err: UsageError, write: (line: string) => void = (l) => process.stderr.write(l)): number {
  write(`${program}: ${err.message}\n`);
  return USAGE_EXIT_CODE;
}
