/**
 * The smoke's configuration, parsed once at the edge, before anything is started or sent: command-line flags
 * (node:util parseArgs, then zod), the target (a target file, the CHAT_URL/... environment, or the reference
 * target the smoke starts itself), TARGET_FLAWS, the loopback rule, the profile name and the k6 environment
 * (lib/config.ts's own parser, the one k6 runs). Every bad input is a UsageError: one line naming the setting
 * and what is allowed; the CLI turns it into exit code 2.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, parseConfig, type SuiteConfig } from '../lib/config.js';
import { PROFILE_NAMES, type ProfileName } from '../lib/profiles.js';
import { parseFlaws, type Flaw } from '../reference-target/flaws.js';
import { readTargetFile, TargetFileError, type TargetFile } from './target-file.js';

export class UsageError extends Error {
  constructor(
    /** The flag or variable at fault, e.g. `--profile`, `CHAT_URL`, `--target`. */
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const SMOKE_USAGE = `usage: npm run smoke -- [--target <file>] [--profile <name>] [--allow-remote] [--help]

Provisions k6, builds the scenarios, starts the reference target (unless a target is given), runs the
smoke load, prints the verdict, writes reports/<run-id>/ and points reports/latest at it.

  --target <file>   target description file (see runner/target-file.ts); instead of it, the environment
                    CHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD may describe the target,
                    with SESSION_URL and TENANTHUB_URL for the msa part (without both it does not run, and says so)
  --profile <name>  load profile: ${PROFILE_NAMES.join(', ')} (default smoke)
  --allow-remote    allow a target outside loopback (127.0.0.0/8, localhost, ::1)
  --help            this text

Environment: TARGET_FLAWS=a,b (flaws of the reference target), SCALE, DURATION, USER_POOL, SLO (see lib/config.ts);
the integrity check's INTEGRITY_SETTLE_MS, INTEGRITY_LATE_LIMIT, INTEGRITY_REORDERED_LIMIT, INTEGRITY_UNDELIVERED_LIMIT,
INTEGRITY_SPAN_MS, INTEGRITY_LOST_TARGET, INTEGRITY_DUPLICATES_TARGET, INTEGRITY_UNDELIVERED_TARGET (integrity/README.md).
Exit codes: 0 pass, 1 a threshold failed, 2 bad usage or configuration (nothing sent).
The reference target is stopped on exit, on an error and on SIGINT/SIGTERM; after a SIGKILL of the smoke,
stop it with: npm run stack -- down --target-file .state/smoke-<pid>-<random>-target.json`;

/** The environment variables that describe a target instead of --target. */
export const TARGET_ENV = ['CHAT_URL', 'AUTH_URL', 'WS_URL', 'TENANT_ID', 'LOGIN_EMAIL', 'LOGIN_PASSWORD'] as const;
/** Optional with them: the msa part's services (both or neither make sense; without both the part does not run). */
export const TARGET_ENV_OPTIONAL = ['SESSION_URL', 'TENANTHUB_URL'] as const;
type UrlField = 'chatUrl' | 'authUrl' | 'wsUrl' | 'sessionUrl' | 'tenanthubUrl';

const Flags = z
  .object({
    target: z.string().min(1, '--target: needs a file path').optional(),
    profile: z.string().default('smoke'),
    'allow-remote': z.boolean().default(false),
    help: z.boolean().default(false),
  })
  .strict();

/** Where the load goes. `reference` means: start the reference target, then take its target file. */
export type TargetChoice =
  | { kind: 'file'; path: string; target: TargetFile }
  | { kind: 'env'; target: TargetFile }
  | { kind: 'reference'; flaws: Flaw[] };

export interface SmokeConfig {
  help: boolean;
  profile: ProfileName;
  allowRemote: boolean;
  target: TargetChoice;
}

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped ::ffff:127.x), and localhost. Anything else is remote. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) === 6) {
    if (h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped ? mapped[1]!.split('.')[0] === '127' : false;
  }
  return false;
}

/** The host of a URL, or undefined when it is not a URL. */
export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Throws UsageError naming `setting` when any URL of the target leaves loopback and remote is not allowed. */
export function checkLoopback(target: Pick<TargetFile, UrlField>, allowRemote: boolean, setting: (field: UrlField) => string): void {
  if (allowRemote) return;
  for (const field of ['chatUrl', 'authUrl', 'wsUrl', 'sessionUrl', 'tenanthubUrl'] as const) {
    const url = target[field];
    if (url === undefined) continue;
    const host = hostOf(url);
    if (host === undefined || !isLoopbackHost(host)) {
      throw new UsageError(
        setting(field),
        `${setting(field)}: host "${host ?? url}" is outside loopback; allowed: 127.0.0.0/8, localhost, ::1, or pass --allow-remote`,
      );
    }
  }
}

/** The k6 environment of a target: what lib/config.ts parses inside k6. Holds the login: never log it. */
export function k6EnvOf(target: TargetFile, profile: ProfileName, allowRemote: boolean): Record<string, string> {
  return {
    CHAT_URL: target.chatUrl,
    AUTH_URL: target.authUrl,
    WS_URL: target.wsUrl,
    ...(target.sessionUrl ? { SESSION_URL: target.sessionUrl } : {}),
    ...(target.tenanthubUrl ? { TENANTHUB_URL: target.tenanthubUrl } : {}),
    TENANT_ID: target.tenantId,
    LOGIN_EMAIL: target.login.email,
    LOGIN_PASSWORD: target.login.password,
    ...(target.users?.length ? { USERS: JSON.stringify(target.users) } : {}),
    PROFILE: profile,
    ...(allowRemote ? { ALLOW_REMOTE: '1' } : {}),
  };
}

/**
 * Validates the full k6 environment k6 will see (the process environment plus `k6Env`) with lib/config.ts's
 * parser, as a UsageError naming the variable. Returns the parsed config.
 */
export function validateK6Env(k6Env: Record<string, string>, env: NodeJS.ProcessEnv = process.env): SuiteConfig {
  try {
    return parseConfig({ ...env, ...k6Env }, 'smoke');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.variable, err.message);
    throw err;
  }
}

function targetFromEnv(env: NodeJS.ProcessEnv): TargetFile | undefined {
  const given = TARGET_ENV.filter((n) => env[n] !== undefined && env[n] !== '');
  if (given.length === 0) return undefined;
  const missing = TARGET_ENV.filter((n) => !given.includes(n));
  if (missing.length > 0) {
    throw new UsageError(missing[0]!, `${missing[0]}: not set; a target given by environment needs all of ${TARGET_ENV.join(', ')} (or use --target <file>)`);
  }
  return {
    version: 1,
    name: 'environment',
    chatUrl: env.CHAT_URL!,
    authUrl: env.AUTH_URL!,
    wsUrl: env.WS_URL!,
    ...(env.SESSION_URL ? { sessionUrl: env.SESSION_URL } : {}),
    ...(env.TENANTHUB_URL ? { tenanthubUrl: env.TENANTHUB_URL } : {}),
    tenantId: env.TENANT_ID!,
    login: { email: env.LOGIN_EMAIL!, password: env.LOGIN_PASSWORD! },
    dbmanNodes: [],
    chatInstances: [],
    sessionInstances: [],
    tenanthubInstances: [],
    loadBalancers: [],
  };
}

/** Parses argv (without node and script) and the environment. Throws UsageError on any bad input. */
export function parseSmokeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SmokeConfig {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: 'string' },
        profile: { type: 'string' },
        'allow-remote': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? 'arguments';
    throw new UsageError(flag, `${flag}: ${msg.split('\n')[0]!.replace(/\.$/, '')}; allowed: --target <file>, --profile <name>, --allow-remote, --help`);
  }
  const flags = Flags.safeParse(values);
  if (!flags.success) {
    const issue = flags.error.issues[0]!;
    const name = `--${String(issue.path[0] ?? 'arguments')}`;
    throw new UsageError(name, issue.message.startsWith('--') ? issue.message : `${name}: ${issue.message}`);
  }
  const { target: targetPath, profile: profileRaw, 'allow-remote': allowRemote, help } = flags.data;
  if (help) return { help, profile: 'smoke', allowRemote, target: { kind: 'reference', flaws: [] } };

  const profile = z.enum(PROFILE_NAMES).safeParse(profileRaw);
  if (!profile.success) {
    throw new UsageError('--profile', `--profile: "${profileRaw}" is not a profile; allowed: ${PROFILE_NAMES.join(', ')}`);
  }

  // Checked whatever the target: a bad value is bad input even where it would not be used.
  let flaws: Flaw[];
  try {
    flaws = parseFlaws(env.TARGET_FLAWS);
  } catch (err) {
    throw new UsageError('TARGET_FLAWS', (err as Error).message);
  }

  let target: TargetChoice;
  if (targetPath !== undefined) {
    if (!existsSync(targetPath)) throw new UsageError('--target', `--target: no file at ${targetPath}; allowed: a target description file (JSON, runner/target-file.ts)`);
    try {
      target = { kind: 'file', path: targetPath, target: readTargetFile(targetPath) };
    } catch (err) {
      if (err instanceof TargetFileError) throw new UsageError('--target', `--target: ${err.message}`);
      throw err;
    }
    checkLoopback(target.target, allowRemote, (f) => `--target ${f}`);
  } else {
    const fromEnv = targetFromEnv(env);
    if (fromEnv) {
      target = { kind: 'env', target: fromEnv };
      const names = { chatUrl: 'CHAT_URL', authUrl: 'AUTH_URL', wsUrl: 'WS_URL', sessionUrl: 'SESSION_URL', tenanthubUrl: 'TENANTHUB_URL' } as const;
      // URL shape first (lib's parser names the variable), then the loopback rule.
      validateK6Env(k6EnvOf(fromEnv, profile.data, true), env);
      checkLoopback(fromEnv, allowRemote, (f) => names[f]);
    } else {
      target = { kind: 'reference', flaws };
    }
  }
  if (target.kind !== 'reference') {
    // Everything k6 will read, with lib/config.ts's own parser (a given target is known now; the reference
    // target's URLs are checked the same way once it is up, still before k6 starts).
    validateK6Env(k6EnvOf(target.target, profile.data, allowRemote), env);
  } else {
    validateK6Env(k6EnvOf(PLACEHOLDER_TARGET, profile.data, false), env);
  }
  return { help, profile: profile.data, allowRemote, target };
}

/** Stands in for the reference target's URLs when the rest of the k6 environment is checked before it starts. */
const PLACEHOLDER_TARGET: TargetFile = {
  version: 1,
  name: 'placeholder',
  chatUrl: 'http://127.0.0.1:1',
  authUrl: 'http://127.0.0.1:1',
  wsUrl: 'ws://127.0.0.1:1/ws',
  tenantId: 'default',
  login: { email: 'placeholder', password: 'placeholder' },
  dbmanNodes: [],
  chatInstances: [],
  sessionInstances: [],
  tenanthubInstances: [],
  loadBalancers: [],
};
