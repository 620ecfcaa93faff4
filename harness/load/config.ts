/**
 * `npm run load` configuration, parsed once at the edge before anything starts: the subcommand, flags (node:util
 * parseArgs, then checks), the target (a target file or CHAT_URL/... from the environment, via the smoke's own
 * parser, so the loopback rule and lib/config.ts's k6 environment check are the same), the segment, run id and
 * SCALE. Every bad input is a UsageError (one line naming the setting; exit 2, nothing sent).
 */
import { parseArgs } from 'node:util';
import { PROFILE_NAMES, type ProfileName } from '../../lib/profiles.js';
import { k6EnvOf, parseSmokeConfig, UsageError, validateK6Env, type TargetChoice } from '../smoke-config.js';
import { parseSegment, type SegmentSpec } from './segments.js';

export { UsageError };

export const LOAD_USAGE = `usage:
  npm run load -- --profile <name> --segment <i>/<n> [--run-id ID] [--target <file>] [--allow-remote] [--scale x]
  npm run load -- merge <dir>... [--out <dir>]
  npm run load -- plan --profile <name> [--scale x] [--bench <file>]
  npm run load -- tune [--apply] [--sockets N]
  npm run load -- k8s --profile <name> --parallelism N [--scale x] [--out <file>] [--image <k6 image>]

Part i of n of a profile (k6 execution segments, 1-based i); every part of one run writes under
reports/<run-id>/parts/<i>-of-<n>/ (raw output, k6 summary data, k6.log, part.json). The target is a target
file or CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD from the environment (no reference
target is started: every part must hit the same one). merge judges the parts' thresholds on the merged samples.
Profiles: ${PROFILE_NAMES.join(', ')}. Environment: DURATION, USER_POOL, SLO (lib/README.md).
Exit codes: 0 pass (a part: k6 ran to its end), 1 a threshold failed / k6 failed, 2 bad usage (nothing sent).`;

const RUN_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface PartConfig {
  cmd: 'part';
  profile: ProfileName;
  segment: SegmentSpec;
  runId: string | undefined;
  allowRemote: boolean;
  scale: number | undefined;
  target: Exclude<TargetChoice, { kind: 'reference' }>;
}

function flagError(err: unknown, allowed: string): UsageError {
  const msg = (err as Error).message;
  const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? 'arguments';
  return new UsageError(flag, `${flag}: ${msg.split('\n')[0]!.replace(/\.$/, '')}; allowed: ${allowed}`);
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

/** `--profile p --segment i/n ...` (no subcommand). */
export function parsePartConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PartConfig {
  const allowed = '--profile <name>, --segment <i>/<n>, --run-id ID, --target <file>, --allow-remote, --scale x';
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        profile: { type: 'string' },
        segment: { type: 'string' },
        'run-id': { type: 'string' },
        target: { type: 'string' },
        'allow-remote': { type: 'boolean' },
        scale: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw flagError(err, allowed);
  }
  const profile = parseProfile(values.profile as string | undefined);
  const segRaw = values.segment as string | undefined;
  if (segRaw === undefined) throw new UsageError('--segment', '--segment: missing; allowed: <i>/<n> with 1 <= i <= n <= 1000, e.g. 2/3');
  const segment = parseSegment(segRaw);
  if (!segment) throw new UsageError('--segment', `--segment: "${segRaw}" is not allowed; allowed: <i>/<n> with 1 <= i <= n <= 1000, e.g. 2/3`);
  const runId = values['run-id'] as string | undefined;
  if (runId !== undefined && !RUN_ID.test(runId)) throw new UsageError('--run-id', `--run-id: "${runId}" is not allowed; allowed: 1 to 64 characters from A-Z a-z 0-9 _ . -`);
  const scale = parseScale(values.scale as string | undefined);
  const allowRemote = values['allow-remote'] === true;
  const smokeArgs = ['--profile', profile, ...(values.target ? ['--target', values.target as string] : []), ...(allowRemote ? ['--allow-remote'] : [])];
  const smoke = parseSmokeConfig(smokeArgs, scale !== undefined ? { ...env, SCALE: String(scale) } : env);
  if (smoke.target.kind === 'reference') {
    throw new UsageError('--target', '--target: missing; allowed: a target description file, or CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD in the environment (every part must hit the same target)');
  }
  const config: PartConfig = { cmd: 'part', profile, segment, runId, allowRemote, scale, target: smoke.target };
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
  };
}
