/**
 * `npm run load` configuration, parsed once at the edge before anything starts: the subcommand, flags (node:util
 * parseArgs, then checks), the target (a target file or CHAT_URL/... from the environment, via the smoke's own
 * parser, so the loopback rule and lib/config.ts's k6 environment check are the same), the segment, run id and
 * SCALE. Every bad input is a UsageError (one line naming the setting; exit 2, nothing sent).
 */
import { join } from 'node:path';
import { integrityOptionsFromEnv, type IntegrityOptions } from '../integrity/index.js';
import { PROFILE_NAMES, type ProfileName } from '../lib/profiles.js';
import { reportsDir } from '../runner/paths.js';
import { k6EnvOf, parseSmokeConfig, UsageError, validateK6Env, type TargetChoice } from '../runner/smoke-config.js';
import { readRoomsFile, ROOMS_FILE, type RoomsFile } from './prepare.js';
import { MAX_LOCAL_PARTS, MAX_PARTS, parseSegment, type SegmentSpec } from './segments.js';
import { helpText, HELP_FLAG, parseCommandLine, type CommandSpec, type Flag } from '../runner/cli-flags.js';

export { UsageError };

/** Every flag of `npm run load`, declared once; each subcommand takes some of them (LOAD_SUBCOMMANDS). */
const LOAD_FLAGS = {
  profile: { name: 'profile', type: 'string', value: '<name>', help: `the load profile: ${PROFILE_NAMES.join(', ')}` },
  segment: { name: 'segment', type: 'string', value: '<i>/<n>', help: 'part: this part of n (k6 execution segments, 1-based; 1 <= i <= n <= 1000)' },
  rooms: { name: 'rooms', type: 'string', value: '<file>', help: 'part, k8s: the rooms file of prepare (required when n > 1)' },
  'run-id': { name: 'run-id', type: 'string', value: '<id>', help: 'prepare, part: the run id every part shares (1 to 64 of A-Z a-z 0-9 _ . -)', default: 'the rooms file\'s' },
  target: { name: 'target', type: 'string', value: '<file>', help: 'prepare, part, merge: the target file (or CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD)' },
  'allow-remote': { name: 'allow-remote', type: 'boolean', help: 'prepare, part, merge: allow a target outside loopback' },
  scale: { name: 'scale', type: 'string', value: '<x>', help: 'part, plan, k8s: load multiplier, > 0 and <= 1000', default: '1' },
  out: { name: 'out', type: 'string', value: '<path>', help: 'prepare: the rooms file (default reports/<run-id>/rooms.json); merge: the merged run folder; k8s: the manifest (default stdout)' },
  'skip-integrity': { name: 'skip-integrity', type: 'boolean', help: 'merge: judge without the message integrity check (the verdict says so)' },
  bench: { name: 'bench', type: 'string', value: '<file>', help: 'plan: capacity from npm run bench results', default: 'bench/results.json when present, else the built-in capacity' },
  apply: { name: 'apply', type: 'boolean', help: 'tune: apply the OS settings (root)' },
  sockets: { name: 'sockets', type: 'string', value: '<n>', help: 'tune: sockets per runner to size for', default: 'the benchmarked capacity' },
  parallelism: { name: 'parallelism', type: 'string', value: '<n>', help: 'k8s: the number of k6 runners (1-1000)' },
  image: { name: 'image', type: 'string', value: '<image>', help: 'k8s: the k6 image', default: 'grafana/k6 of the pinned version' },
  'local-parts': { name: 'local-parts', type: 'string', value: '<k>', help: `part: run this runner's share as k k6 processes on this machine (1-${MAX_LOCAL_PARTS}; n*k <= ${MAX_PARTS})`, default: '1' },
  'runner-cores': { name: 'runner-cores', type: 'string', value: '<C>', help: 'plan: cores of one runner machine (1-4096); plan then says --local-parts k' },
  'runner-memory-gib': { name: 'runner-memory-gib', type: 'string', value: '<M>', help: 'plan: memory of one runner machine in GiB (with --runner-cores)' },
  help: HELP_FLAG,
} as const satisfies Record<string, Flag>;
type LoadFlag = keyof typeof LOAD_FLAGS;

/** Each subcommand's flags: the parser of that subcommand takes these and no other. */
export const LOAD_SUBCOMMANDS: Record<'part' | 'prepare' | 'merge' | 'plan' | 'tune' | 'k8s', LoadFlag[]> = {
  part: ['profile', 'segment', 'rooms', 'local-parts', 'run-id', 'target', 'allow-remote', 'scale'],
  prepare: ['profile', 'run-id', 'target', 'allow-remote', 'out'],
  merge: ['out', 'target', 'allow-remote', 'skip-integrity'],
  plan: ['profile', 'scale', 'bench', 'runner-cores', 'runner-memory-gib'],
  tune: ['apply', 'sockets'],
  k8s: ['profile', 'parallelism', 'scale', 'out', 'image', 'rooms'],
};

export const LOAD_COMMAND: CommandSpec = {
  invocation: 'npm run load --',
  usage: [
    'prepare --profile <name> --run-id ID [--target <file>] [--allow-remote] [--out <file>]',
    '--profile <name> --segment <i>/<n> --rooms <file> [--local-parts k] [--run-id ID] [--target <file>] [--allow-remote] [--scale x]',
    'merge <dir>... (--target <file> | --skip-integrity) [--allow-remote] [--out <dir>]',
    'plan --profile <name> [--scale x] [--bench <file>] [--runner-cores C] [--runner-memory-gib M]',
    'tune [--apply] [--sockets N]',
    'k8s --profile <name> --parallelism N --rooms <file> [--scale x] [--out <file>] [--image <k6 image>]',
  ],
  about: `Part i of n of a profile (k6 execution segments, 1-based i); every part of one run writes under
reports/<run-id>/parts/<i>-of-<n>/ (raw output, k6 summary data, k6.log, part.json). prepare makes the run's
shared hot room once and writes reports/<run-id>/${ROOMS_FILE}; every part of a split (n > 1) gets it with --rooms.
--local-parts k runs runner i of n as k k6 processes on this machine (a runner with more cores): parts
(i-1)k+1 .. ik of n*k, each its own k6 process and folder; merge takes all n*k. plan --runner-cores says k.
The target is a target file or CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD from the
environment (no reference target is started: every part must hit the same one). merge judges the parts'
thresholds on the merged samples and runs the message integrity check once over all parts (it reads the rooms
back from the target); --skip-integrity judges without it and says so.`,
  commands: [
    { name: '(none)', help: `a part: ${LOAD_SUBCOMMANDS.part.map((f) => `--${f}`).join(', ')}` },
    ...(['prepare', 'merge', 'plan', 'tune', 'k8s'] as const).map((c) => ({ name: c, help: LOAD_SUBCOMMANDS[c].map((f) => `--${f}`).join(', ') || 'no options' })),
  ],
  flags: Object.values(LOAD_FLAGS),
  environment: [
    'DURATION, USER_POOL, SLO   the k6 environment (lib/README.md)',
    'INTEGRITY_SETTLE_MS, INTEGRITY_UNDELIVERED_LIMIT, INTEGRITY_REORDERED_LIMIT, INTEGRITY_LATE_LIMIT, INTEGRITY_SPAN_MS',
    'INTEGRITY_LOST_TARGET, INTEGRITY_DUPLICATES_TARGET, INTEGRITY_UNDELIVERED_TARGET   the integrity check (integrity/README.md;',
    '  a stage profile\'s loss target applies unless replaced)',
  ],
  exitCodes: [[0, 'pass (a part: k6 ran to its end)'], [1, 'a threshold failed / k6 failed'], [2, 'bad usage (nothing sent)']],
  examples: [
    'npm run load -- prepare --profile stage2 --run-id w1 --target staging.json --allow-remote',
    'npm run load -- --profile stage2 --segment 1/4 --rooms reports/w1/rooms.json --target staging.json --allow-remote',
    'npm run load -- merge reports/w1/parts --target staging.json --allow-remote --out reports/w1',
    'npm run load -- plan --profile stage3 --bench bench/results.json',
  ],
};

/** The table of one subcommand, for parseCommandLine. */
export function loadSubcommand(name: keyof typeof LOAD_SUBCOMMANDS): CommandSpec {
  return { ...LOAD_COMMAND, flags: [...LOAD_SUBCOMMANDS[name].map((f) => LOAD_FLAGS[f]), HELP_FLAG] };
}

export const LOAD_USAGE = helpText(LOAD_COMMAND);

const RUN_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface PartConfig {
  cmd: 'part';
  profile: ProfileName;
  segment: SegmentSpec;
  runId: string | undefined;
  allowRemote: boolean;
  scale: number | undefined;
  target: GivenTarget;
  /** The run's shared rooms (`--rooms`, from prepare); required when the run is split (n > 1 or localParts > 1). */
  rooms: RoomsFile | undefined;
  /** `--local-parts k` (default 1): `segment` is this runner's share, run as k k6 processes (split/local-parts.ts). */
  localParts: number;
}

export type GivenTarget = Exclude<TargetChoice, { kind: 'reference' }>;

export interface PrepareConfig {
  cmd: 'prepare';
  profile: ProfileName;
  runId: string;
  target: GivenTarget;
  out: string;
  allowRemote: boolean;
}

export interface MergeConfig {
  cmd: 'merge';
  dirs: string[];
  out: string | undefined;
  /** The integrity check's target and limits, or 'skip' (--skip-integrity: the verdict then says nothing about lost messages). */
  integrity: { target: GivenTarget; options: IntegrityOptions } | 'skip';
  allowRemote: boolean;
}

export function parseProfile(raw: string | undefined): ProfileName {
  if (raw === undefined) throw new UsageError('--profile', `--profile: missing; allowed: ${PROFILE_NAMES.join(', ')}`);
  if (!(PROFILE_NAMES as readonly string[]).includes(raw)) throw new UsageError('--profile', `--profile: "${raw}" is not a profile; allowed: ${PROFILE_NAMES.join(', ')}`);
  return raw as ProfileName;
}

export function parseScale(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d*\.?\d+(e-?\d+)?$/i.test(raw.trim()) || !(n > 0) || n > 1000) throw new UsageError('--scale', `--scale: "${raw}" is not allowed; allowed: a decimal > 0 and <= 1000`);
  return n;
}

export function parsePositiveInt(flag: string, raw: string | undefined, max: number): number {
  if (raw === undefined) throw new UsageError(flag, `${flag}: missing; allowed: an integer 1-${max}`);
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(flag, `${flag}: "${raw}" is not allowed; allowed: an integer 1-${max}`);
  return Number(raw);
}

type Flags = Record<string, string | boolean | undefined>;

export function parseFlags(name: keyof typeof LOAD_SUBCOMMANDS, argv: readonly string[], positionals = false): { values: Flags; positionals: string[] } {
  return parseCommandLine(loadSubcommand(name), argv, { positionals }) as { values: Flags; positionals: string[] };
}

function parseRunId(raw: string | undefined): string | undefined {
  if (raw !== undefined && !RUN_ID.test(raw)) throw new UsageError('--run-id', `--run-id: "${raw}" is not allowed; allowed: 1 to 64 characters from A-Z a-z 0-9 _ . -`);
  return raw;
}

/** The target of a part, prepare or merge (--target <file> or the six variables), with the smoke's loopback rule; never the reference target. */
function parseGivenTarget(values: Flags, profile: ProfileName, env: NodeJS.ProcessEnv, why: string): GivenTarget {
  const smokeArgs = ['--profile', profile, ...(values.target ? ['--target', values.target as string] : []), ...(values['allow-remote'] === true ? ['--allow-remote'] : [])];
  // the load's own settings (--run-id, --profile) are its flags; CI keeps RUN_ID in the environment for them
  const smoke = parseSmokeConfig(smokeArgs, env, { refuseRunnerSetEnv: false });
  if (smoke.target.kind === 'reference') {
    throw new UsageError('--target', `--target: missing; allowed: a target description file, or CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD in the environment (${why})`);
  }
  return smoke.target;
}

/** `prepare --profile p --run-id X ...`. */
export function parsePrepareConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PrepareConfig {
  const { values } = parseFlags('prepare', argv);
  const profile = parseProfile(values.profile as string | undefined);
  const runId = parseRunId(values['run-id'] as string | undefined);
  if (runId === undefined) throw new UsageError('--run-id', '--run-id: missing; allowed: the run id every part will be given, 1 to 64 characters from A-Z a-z 0-9 _ . -');
  const target = parseGivenTarget(values, profile, env, 'the target every part will hit');
  const out = (values.out as string | undefined) ?? join(reportsDir, runId, ROOMS_FILE);
  return { cmd: 'prepare', profile, runId, target, out, allowRemote: values['allow-remote'] === true };
}

/** `merge <dir>... [--target f | --skip-integrity] [--allow-remote] [--out d]`. */
export function parseMergeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): MergeConfig {
  const allowed = 'merge <dir>... (--target <file> | --skip-integrity) [--allow-remote] [--out <dir>]';
  const { values, positionals } = parseFlags('merge', argv, true);
  if (positionals.length === 0) throw new UsageError('merge', `merge: no directories given; allowed: ${allowed}`);
  const skip = values['skip-integrity'] === true;
  const targetGiven = values.target !== undefined || env.CHAT_URL !== undefined;
  if (skip && targetGiven) throw new UsageError('--skip-integrity', '--skip-integrity: a target is given too; allowed: a target for the integrity check, or --skip-integrity without one');
  let integrity: MergeConfig['integrity'] = 'skip';
  if (!skip) {
    const target = parseGivenTarget(values, 'smoke', env, 'the integrity check reads every room back; or --skip-integrity to judge without it');
    let options: IntegrityOptions;
    try {
      options = integrityOptionsFromEnv(env);
    } catch (err) {
      throw new UsageError((err as Error).message.split(':')[0]!, (err as Error).message);
    }
    integrity = { target, options };
  }
  return { cmd: 'merge', dirs: positionals, out: values.out as string | undefined, integrity, allowRemote: values['allow-remote'] === true };
}

/** `--profile p --segment i/n ...` (no subcommand). */
export function parsePartConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PartConfig {
  const { values } = parseFlags('part', argv);
  const profile = parseProfile(values.profile as string | undefined);
  const segRaw = values.segment as string | undefined;
  if (segRaw === undefined) throw new UsageError('--segment', '--segment: missing; allowed: <i>/<n> with 1 <= i <= n <= 1000, e.g. 2/3');
  const segment = parseSegment(segRaw);
  if (!segment) throw new UsageError('--segment', `--segment: "${segRaw}" is not allowed; allowed: <i>/<n> with 1 <= i <= n <= 1000, e.g. 2/3`);
  const localParts = values['local-parts'] === undefined ? 1 : parsePositiveInt('--local-parts', values['local-parts'] as string, MAX_LOCAL_PARTS);
  if (segment.count * localParts > MAX_PARTS) {
    throw new UsageError('--local-parts', `--local-parts: ${localParts} x ${segment.count} runners = ${segment.count * localParts} parts; allowed: at most ${MAX_PARTS} parts in all`);
  }
  let runId = parseRunId(values['run-id'] as string | undefined);
  const scale = parseScale(values.scale as string | undefined);
  const allowRemote = values['allow-remote'] === true;
  const target = parseGivenTarget(values, profile, scale !== undefined ? { ...env, SCALE: String(scale) } : env, 'every part must hit the same target');
  const rooms = values.rooms === undefined ? undefined : parseRoomsFlag(values.rooms as string, { profile, runId, target });
  if (rooms === undefined && segment.count * localParts > 1) {
    throw new UsageError('--rooms', '--rooms: missing; allowed: the rooms file of npm run load -- prepare (every part of a split run shares its hot room)');
  }
  runId ??= rooms?.runId;
  const config: PartConfig = { cmd: 'part', profile, segment, runId, allowRemote, scale, target, rooms, localParts };
  validateK6Env(partK6Env(config, runId ?? 'placeholder'), env);
  return config;
}

/** The k6 environment of one part (holds the login: never log it). */
export function partK6Env(config: PartConfig, runId: string): Record<string, string> {
  return {
    ...k6EnvOf(config.target.target, config.profile, config.allowRemote),
    RUN_ID: runId,
    INSTANCE: `${config.segment.index}-of-${config.segment.count}`.slice(0, 16),
    ...(config.scale !== undefined ? { SCALE: String(config.scale) } : {}),
    ...(config.rooms?.hotRoom ? { HOT_ROOM: config.rooms.hotRoom } : {}),
  };
}

/** Reads `--rooms <file>` and checks it belongs to this part's run, profile and target. */
function parseRoomsFlag(path: string, part: { profile: ProfileName; runId: string | undefined; target: GivenTarget }): RoomsFile {
  let rooms: RoomsFile;
  try {
    rooms = readRoomsFile(path);
  } catch (err) {
    throw new UsageError('--rooms', `--rooms: ${(err as Error).message}; allowed: the rooms file of npm run load -- prepare`);
  }
  const t = part.target.target;
  for (const [what, theirs, mine] of [
    ['run id', rooms.runId, part.runId ?? rooms.runId],
    ['profile', rooms.profile, part.profile],
    ['chat URL', rooms.chatUrl, t.chatUrl],
    ['tenant', rooms.tenantId, t.tenantId],
  ] as const) {
    if (theirs !== mine) throw new UsageError('--rooms', `--rooms: ${path} was prepared for ${what} ${theirs}, this part has ${mine}; allowed: the rooms file of this run`);
  }
  return rooms;
}
