/**
 * Every command's --help is complete and true to the code: usage, options, exit codes (0 and 2 at least) and
 * examples are there; every option the help lists is one the command's parser takes (the CLI run with all of
 * them and --help exits 0), an option it does not list is refused (exit 2), and every example parses. The
 * help and the parser come from one flag table (runner/cli-flags.ts); this checks that nothing else crept in.
 * Runs each CLI about three times, three at a time: about 20-30 s on two shared cores.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { helpText, parseCommandLine, type CommandSpec, type Flag } from '../../runner/cli-flags.js';
import { SMOKE_COMMAND } from '../../runner/smoke-config.js';
import { BENCH_COMMAND } from '../../capacity/config.js';
import { LOAD_COMMAND, LOAD_SUBCOMMANDS, loadSubcommand } from '../../split/config.js';
import { pool, runCli, type CliName, type CliRun } from './helpers.js';

/** The CLIs whose --help returns right after the flag table parsed argv (so a spawn checks the parser). */
const PARSED_BEFORE_HELP: CliName[] = ['smoke', 'drill', 'chaos', 'report', 'bench', 'stack'];
const ALL: CliName[] = [...PARSED_BEFORE_HELP, 'load'];
/** The tables that can be imported without running the CLI: their help must be exactly the table's. */
const TABLES: Partial<Record<CliName, CommandSpec>> = { smoke: SMOKE_COMMAND, bench: BENCH_COMMAND, load: LOAD_COMMAND };

/** The options as the help lists them: `  -h, --name <value>  text` → name and whether it takes a value. */
function optionsOf(help: string): Flag[] {
  const section = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return section
    .split('\n')
    .map((l) => /^ {2}(?:-\w, )?--([a-z0-9-]+)( <[^>]+>)?\s/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, type: m[2] ? 'string' : 'boolean', help: '' }));
}

/** An example's arguments: what follows `npm run <x> --` (or nothing). */
function exampleArgs(example: string): string[] {
  const i = example.indexOf(' -- ');
  return i < 0 ? [] : example.slice(i + 4).trim().split(/\s+/);
}

const helps = new Map<CliName, CliRun>();
const allFlags = new Map<CliName, CliRun>();
const bogus = new Map<CliName, CliRun>();

beforeAll(async () => {
  const jobs: (() => Promise<void>)[] = ALL.map((cli) => async () => void helps.set(cli, await runCli(cli, ['--help'], {})));
  await pool(jobs, 3);
  const more: (() => Promise<void>)[] = [];
  for (const cli of PARSED_BEFORE_HELP) {
    const args = optionsOf(helps.get(cli)!.stdout).flatMap((f) => (f.name === 'help' ? [] : f.type === 'string' ? [`--${f.name}`, 'x'] : [`--${f.name}`]));
    more.push(async () => void allFlags.set(cli, await runCli(cli, [...args, '--help'], {})));
    more.push(async () => void bogus.set(cli, await runCli(cli, ['--no-such-option', '--help'], {})));
  }
  await pool(more, 3);
}, 180_000);

describe('--help of every command', () => {
  it.each(ALL)('%s: usage, options with the help flag, exit codes 0 and 2, examples; exit 0, nothing on stderr', (cli) => {
    const r = helps.get(cli)!;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const help = r.stdout;
    expect(help).toMatch(/^usage: npm run \w+ --/);
    for (const section of ['\nOptions:\n', '\nExit codes:\n', '\nExamples:\n']) expect(help).toContain(section);
    expect(help).toMatch(/\n {2}0 {3}\S/);
    expect(help).toMatch(/\n {2}2 {3}\S/);
    expect(optionsOf(help).map((f) => f.name)).toContain('help');
    expect(help.split('\nExamples:\n')[1]!.trim().split('\n').length).toBeGreaterThan(0);
    expect(r.children).toEqual([]);
  });

  it.each(Object.keys(TABLES) as CliName[])('%s: the help printed is the flag table\'s, every example parses by the table', (cli) => {
    const spec = TABLES[cli]!;
    expect(helps.get(cli)!.stdout.trimEnd()).toBe(helpText(spec));
    for (const e of spec.examples) {
      const args = exampleArgs(e);
      if (cli === 'load') {
        const sub = (args[0] && !args[0].startsWith('-') ? args[0] : 'part') as keyof typeof LOAD_SUBCOMMANDS;
        expect(() => parseCommandLine(loadSubcommand(sub), sub === 'part' ? args : args.slice(1), { positionals: sub === 'merge' }), e).not.toThrow();
      } else expect(() => parseCommandLine(spec, args, { positionals: true }), e).not.toThrow();
    }
  });

  it('load: every subcommand takes only options the help lists', () => {
    const listed = optionsOf(helps.get('load')!.stdout).map((f) => f.name);
    for (const [sub, flags] of Object.entries(LOAD_SUBCOMMANDS)) {
      for (const f of flags) expect(listed, `${sub} --${f}`).toContain(f);
      expect(LOAD_COMMAND.usage.join('\n') + LOAD_COMMAND.commands!.map((c) => c.help).join('\n'), sub).toContain(sub === 'part' ? '--segment' : sub);
    }
  });

  it.each(PARSED_BEFORE_HELP)('%s: every option the help lists is taken by the parser; one it does not list is refused', (cli) => {
    const all = allFlags.get(cli)!;
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe(helps.get(cli)!.stdout);
    const b = bogus.get(cli)!;
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toMatch(new RegExp(`^${cli}: --no-such-option: unknown option`));
  });

  it.each(PARSED_BEFORE_HELP.filter((c) => !TABLES[c]))('%s: every example parses by the options the help lists', (cli) => {
    const help = helps.get(cli)!.stdout;
    const spec: CommandSpec = { invocation: '', usage: [], about: '', flags: optionsOf(help), exitCodes: [], examples: [] };
    const examples = help.split('\nExamples:\n')[1]!.trim().split('\n').map((l) => l.trim());
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) expect(() => parseCommandLine(spec, exampleArgs(e), { positionals: true }), e).not.toThrow();
  });
});
