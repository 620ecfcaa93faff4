/** `npm run load -- ...`: a part of a split run, or `merge`; see split/config.ts for the usage. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { buildScenario } from '../runner/build-scenario.js';
import { didYouMean } from '../runner/cli-flags.js';
import { allowRemoteConnections } from '../runner/connections.js';
import { LOAD_USAGE, parseFlags, parseMergeConfig, parsePartConfig, parsePositiveInt, parsePrepareConfig, parseProfile, parseScale, UsageError } from './config.js';
import { testRunManifest } from './k8s.js';
import { DEFAULT_CAPACITY, formatPlan, planRunners, readCapacity, tune } from './plan.js';
import { mergeParts } from './merge.js';
import { runLocalParts } from './local-parts.js';
import { runPart } from './part.js';
import { prepareRun, readRoomsFile } from './prepare.js';

const DEFAULT_BENCH_FILE = 'bench/results.json';
const argv = process.argv.slice(2);
let code: number;
try {
  if (argv.length === 0) {
    throw new UsageError('command', 'command: missing; allowed: prepare, merge, plan, tune, k8s, or a part: --profile <name> --segment <i>/<n> (see --help)');
  } else if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LOAD_USAGE + '\n');
    code = 0;
  } else if (argv[0] === 'merge') {
    const config = parseMergeConfig(argv.slice(1));
    allowRemoteConnections(config.allowRemote);
    const integrity = config.integrity === 'skip' ? 'skip' : { target: config.integrity.target.target, options: config.integrity.options };
    code = (await mergeParts({ dirs: config.dirs, integrity, ...(config.out ? { out: config.out } : {}) })).code;
  } else if (argv[0] === 'prepare') {
    const config = parsePrepareConfig(argv.slice(1));
    allowRemoteConnections(config.allowRemote);
    code = await prepareRun({ target: config.target.target, profile: config.profile, runId: config.runId, out: config.out }).then(
      () => 0,
      (err: Error) => {
        process.stderr.write(`load: prepare: ${err.message.split('\n')[0]}\n`);
        return 1;
      },
    );
  } else if (argv[0] === 'plan') {
    const values = parseFlags('plan', argv.slice(1)).values as Record<string, string | undefined>;
    if (values.bench !== undefined && !existsSync(values.bench)) throw new UsageError('--bench', `--bench: no file at ${values.bench}; allowed: the results file of npm run bench`);
    const memory = values['runner-memory-gib'];
    if (memory !== undefined && values['runner-cores'] === undefined) throw new UsageError('--runner-memory-gib', '--runner-memory-gib: given without --runner-cores; allowed: --runner-cores C [--runner-memory-gib M]');
    const size = values['runner-cores'] === undefined ? undefined : { cores: parsePositiveInt('--runner-cores', values['runner-cores'], 4096), ...(memory !== undefined ? { memoryGiB: parsePositiveInt('--runner-memory-gib', memory, 1_000_000) } : {}) };
    const bench = values.bench ?? (existsSync(DEFAULT_BENCH_FILE) ? DEFAULT_BENCH_FILE : undefined);
    const plan = planRunners(parseProfile(values.profile), parseScale(values.scale) ?? 1, readCapacity(bench), size);
    process.stdout.write(formatPlan(plan) + '\n');
    code = 0;
  } else if (argv[0] === 'tune') {
    const values = parseFlags('tune', argv.slice(1)).values as { apply?: boolean; sockets?: string };
    code = tune(values.sockets !== undefined ? parsePositiveInt('--sockets', values.sockets, 10_000_000) : DEFAULT_CAPACITY.socketsPerRunner, values.apply === true, (l) => process.stderr.write(l + '\n'));
  } else if (argv[0] === 'k8s') {
    const values = parseFlags('k8s', argv.slice(1)).values as Record<string, string | undefined>;
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
    throw new UsageError(argv[0]!, `${argv[0]}: unknown command${didYouMean(argv[0]!, ['prepare', 'merge', 'plan', 'tune', 'k8s'])}; allowed: prepare, merge, plan, tune, k8s, or a part: --profile <name> --segment <i>/<n>`);
  } else {
    const config = parsePartConfig(argv);
    allowRemoteConnections(config.allowRemote);
    code = (config.localParts > 1 ? await runLocalParts(config) : await runPart(config)).code;
  }
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`load: ${err.message}\n`);
  code = 2;
}
process.exit(code);
