/** `npm run load -- ...`: a part of a split run, or `merge`; see split/config.ts for the usage. */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildScenario } from '../runner/build-scenario.js';
import { LOAD_USAGE, parseMergeConfig, parsePartConfig, parsePositiveInt, parsePrepareConfig, parseProfile, parseScale, UsageError } from './config.js';
import { testRunManifest } from './k8s.js';
import { DEFAULT_CAPACITY, formatPlan, planRunners, readCapacity, tune } from './plan.js';
import { mergeParts } from './merge.js';
import { runLocalParts } from './local-parts.js';
import { runPart } from './part.js';
import { prepareRun, readRoomsFile } from './prepare.js';

const argv = process.argv.slice(2);
let code: number;
try {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LOAD_USAGE + '\n');
    code = argv.length === 0 ? 2 : 0;
  } else if (argv[0] === 'merge') {
    const config = parseMergeConfig(argv.slice(1));
    const integrity = config.integrity === 'skip' ? 'skip' : { target: config.integrity.target.target, options: config.integrity.options };
    code = (await mergeParts({ dirs: config.dirs, integrity, ...(config.out ? { out: config.out } : {}) })).code;
  } else if (argv[0] === 'prepare') {
    const config = parsePrepareConfig(argv.slice(1));
    code = await prepareRun({ target: config.target.target, profile: config.profile, runId: config.runId, out: config.out }).then(
      () => 0,
      (err: Error) => {
        process.stderr.write(`load: prepare: ${err.message.split('\n')[0]}\n`);
        return 1;
      },
    );
  } else if (argv[0] === 'plan') {
    const { values } = parseArgs({ args: argv.slice(1), options: { profile: { type: 'string' }, scale: { type: 'string' }, bench: { type: 'string' }, 'runner-cores': { type: 'string' }, 'runner-memory-gib': { type: 'string' } }, strict: true });
    const memory = values['runner-memory-gib'];
    if (memory !== undefined && values['runner-cores'] === undefined) throw new UsageError('--runner-memory-gib', '--runner-memory-gib: given without --runner-cores; allowed: --runner-cores C [--runner-memory-gib M]');
    const size = values['runner-cores'] === undefined ? undefined : { cores: parsePositiveInt('--runner-cores', values['runner-cores'], 4096), ...(memory !== undefined ? { memoryGiB: parsePositiveInt('--runner-memory-gib', memory, 1_000_000) } : {}) };
    const plan = planRunners(parseProfile(values.profile), parseScale(values.scale) ?? 1, readCapacity(values.bench ?? 'bench/results.json'), size);
    process.stdout.write(formatPlan(plan) + '\n');
    code = 0;
  } else if (argv[0] === 'tune') {
    const { values } = parseArgs({ args: argv.slice(1), options: { apply: { type: 'boolean' }, sockets: { type: 'string' } }, strict: true });
    code = tune(values.sockets !== undefined ? parsePositiveInt('--sockets', values.sockets, 10_000_000) : DEFAULT_CAPACITY.socketsPerRunner, values.apply === true, (l) => process.stderr.write(l + '\n'));
  } else if (argv[0] === 'k8s') {
    const { values } = parseArgs({ args: argv.slice(1), options: { profile: { type: 'string' }, parallelism: { type: 'string' }, scale: { type: 'string' }, out: { type: 'string' }, image: { type: 'string' }, rooms: { type: 'string' } }, strict: true });
    const profile = parseProfile(values.profile);
    const parallelism = parsePositiveInt('--parallelism', values.parallelism, 1000);
    const scale = parseScale(values.scale);
    if (values.rooms === undefined) throw new UsageError('--rooms', '--rooms: missing; allowed: the rooms file of npm run load -- prepare (its run id and shared hot room go into the manifest)');
    let rooms;
    try {
      rooms = readRoomsFile(values.rooms);
    } catch (err) {
      throw new UsageError('--rooms', `--rooms: ${(err as Error).message}`);
    }
    if (rooms.profile !== profile) throw new UsageError('--rooms', `--rooms: prepared for profile ${rooms.profile}, not ${profile}`);
    const script = await buildScenario('load', () => {});
    const yaml = testRunManifest({ profile, parallelism, script: await readFile(script, 'utf8'), runId: rooms.runId, ...(rooms.hotRoom ? { hotRoom: rooms.hotRoom } : {}), ...(scale !== undefined ? { scale } : {}), ...(values.image ? { image: values.image } : {}) });
    if (values.out) await writeFile(values.out, yaml);
    else process.stdout.write(yaml);
    code = 0;
  } else if (/^[a-z]/.test(argv[0]!)) {
    throw new UsageError(argv[0]!, `${argv[0]}: unknown command; allowed: merge, plan, tune, k8s, or a part: --profile <name> --segment <i>/<n>`);
  } else {
    const config = parsePartConfig(argv);
    code = (config.localParts > 1 ? await runLocalParts(config) : await runPart(config)).code;
  }
} catch (err) {
  const parseArgsError = String((err as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS');
  if (!(err instanceof UsageError) && !parseArgsError) throw err;
  process.stderr.write(`load: ${(err as Error).message.split('\n')[0]}\n`);
  code = 2;
}
process.exit(code);
