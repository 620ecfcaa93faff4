/**
 * One flag table per command: each option is declared once (name, value placeholder, help, default, the
 * environment variable it falls back to), and both the parser and `--help` come from that declaration, so the
 * help cannot drift from what the command accepts (tests/cli/help.test.ts checks each CLI's help against it).
 * A misspelt option or command gets a "did you mean"; every error is a UsageError naming what the user typed.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

export interface Flag {
  /** Without dashes: `target` for `--target`. */
  name: string;
  type: 'string' | 'boolean';
  /** The value's placeholder in the help, e.g. `<file>`. */
  value?: string;
  help: string;
  /** The default as the help shows it. */
  default?: string;
  short?: string;
  multiple?: boolean;
}

export interface CommandSpec {
  /** How the user starts it: `npm run chaos --`. */
  invocation: string;
  /** Usage lines after the invocation, e.g. `status [--ledger <file>]`. */
  usage: string[];
  /** What it does, a paragraph (may hold line breaks). */
  about: string;
  /** Subcommands, when it has them. */
  commands?: { name: string; help: string }[];
  flags: Flag[];
  /** Environment variables it reads, `NAME  meaning`. */
  environment?: string[];
  exitCodes: [number | string, string][];
  examples: string[];
}

export const HELP_FLAG: Flag = { name: 'help', type: 'boolean', short: 'h', help: 'this text' };

/** The full help of a command: usage, what it does, commands, options with defaults, environment, exit codes, examples. */
export function helpText(spec: CommandSpec): string {
  const lines = spec.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${spec.invocation} ${u}`);
  lines.push('', spec.about);
  if (spec.commands?.length) {
    lines.push('', 'Commands:');
    const w = Math.max(...spec.commands.map((c) => c.name.length));
    for (const c of spec.commands) lines.push(`  ${c.name.padEnd(w)}  ${c.help}`);
  }
  lines.push('', 'Options:');
  const label = (f: Flag) => `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.value ? ` ${f.value}` : ''}`;
  const w = Math.max(...spec.flags.map((f) => label(f).length));
  for (const f of spec.flags) {
    const [first, ...rest] = `${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}`.split('\n');
    lines.push(`  ${label(f).padEnd(w)}  ${first}`);
    for (const r of rest) lines.push(`  ${''.padEnd(w)}  ${r}`);
  }
  if (spec.environment?.length) lines.push('', 'Environment:', ...spec.environment.map((e) => `  ${e}`));
  lines.push('', 'Exit codes:', ...spec.exitCodes.map(([c, m]) => `  ${String(c).padEnd(3)} ${m}`));
  lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** Edit distance (a swap of two neighbours counts one), for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `choices` to `given` when it is close enough to be a typo, else undefined. */
export function closest(given: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const dd = distance(given.toLowerCase(), c.toLowerCase());
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** ` (did you mean X?)` or ''. */
export function didYouMean(given: string, choices: readonly string[]): string {
  const c = closest(given, choices);
  return c ? ` (did you mean ${c}?)` : '';
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses argv by the table. Throws UsageError naming the option the user typed: unknown (with the closest one),
 * missing its value, given a value it does not take, given twice, or an empty value; positionals only when allowed.
 */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[], opts: { positionals?: boolean } = {}): { values: FlagValues; positionals: string[] } {
  const names = spec.flags.map((f) => `--${f.name}`);
  const options = Object.fromEntries(spec.flags.map((f) => [f.name, { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: opts.positionals ?? false, tokens: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const typed = /'(-{1,2}[^' =]+)/.exec(e.message)?.[1] ?? /"(-{1,2}[^" =]+)"/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && typed) {
      throw new UsageError(typed, `${typed}: unknown option${didYouMean(typed, names)}; allowed: ${names.join(', ')}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && typed) {
      const f = spec.flags.find((x) => `--${x.name}` === typed || `-${x.short}` === typed);
      const msg = f?.type === 'boolean' ? 'takes no value' : `needs a value${f?.value ? ` ${f.value}` : ''}`;
      throw new UsageError(typed, `${typed}: ${msg}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(e.message)?.[1] ?? argv.find((a) => !a.startsWith('-')) ?? '';
      throw new UsageError(arg, `${arg}: unexpected argument; allowed: ${names.join(', ')}`);
    }
    throw new UsageError('arguments', `arguments: ${e.message.split('\n')[0]}`);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    const f = spec.flags.find((x) => x.name === t.name)!;
    if (!f.multiple && seen.has(t.name)) throw new UsageError(`--${t.name}`, `--${t.name}: given twice; give it once`);
    seen.add(t.name);
    if (f.type === 'string' && (t.value === undefined || t.value.trim() === '')) throw new UsageError(`--${t.name}`, `--${t.name}: needs a value${f.value ? ` ${f.value}` : ''}, got an empty one`);
  }
  return { values: parsed.values as FlagValues, positionals: parsed.positionals };
}

/** The subcommand from the first positional, one of `spec.commands`, or a UsageError with the closest one. */
export function commandOf(spec: CommandSpec, positionals: readonly string[]): string {
  const names = (spec.commands ?? []).map((c) => c.name);
  const cmd = positionals[0];
  if (cmd === undefined) throw new UsageError('command', `command: missing; allowed: ${names.join(', ')} (see --help)`);
  if (!names.includes(cmd)) throw new UsageError(cmd, `${cmd}: unknown command${didYouMean(cmd, names)}; allowed: ${names.join(', ')}`);
  return cmd;
}
