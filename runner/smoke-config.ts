/**
 * The smoke's configuration, parsed once at the edge, before anything is started or sent: command-line flags
 * (node:util parseArgs, then zod), the target (a target file, the CHAT_URL/... environment, or the reference
 * target the smoke starts itself), TARGET_FLAWS, the loopback rule, the profile name and the k6 environment
 * (lib/config.ts's own parser, the one k6 runs). Every bad input is a UsageError: one line naming the setting
 * and what is allowed; the CLI turns it into exit code 2.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, parseConfig, type SuiteConfig } from '../lib/config.js';
import { PROFILE_NAMES, type ProfileName } from '../lib/profiles.js';
import { parseFlaws, type Flaw } from '../reference-target/flaws.js';
import { isLoopbackHost, refusalOf, urlParts } from '../lib/loopback.js';
import { readTargetFile, TargetFileError, type Component, type TargetFile } from './target-file.js';
import { UsageError } from './usage-error.js';
import { helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from './cli-flags.js';

export { UsageError };

export const SMOKE_COMMAND: CommandSpec = {
  invocation: 'npm run smoke --',
  usage: ['[--target <file>] [--profile <name>] [--allow-remote] [--help]'],
  about: `Provisions k6, builds the scenarios, starts the reference target (unless a target is given), runs the
smoke load, prints the verdict, writes reports/<run-id>/ and points reports/latest at it. Every input is
checked before anything starts or is sent. The reference target is stopped on exit, on an error and on
SIGINT/SIGTERM (k6 then stops once, keeping its summary: exit 130/143); after a SIGKILL of the smoke, stop it
with: npm run stack -- down.`,
  flags: [
    { name: 'target', type: 'string', value: '<file>', help: 'target description file (runner/target-file.ts); instead of it, the environment\nCHAT_URL, AUTH_URL, WS_URL, TENANT_ID, LOGIN_EMAIL, LOGIN_PASSWORD may describe the target,\nwith SESSION_URL and TENANTHUB_URL for the msa part (without both it does not run, and says so)', default: 'start the reference target' },
    { name: 'profile', type: 'string', value: '<name>', help: `load profile: ${PROFILE_NAMES.join(', ')}`, default: 'smoke' },
    { name: 'allow-remote', type: 'boolean', help: 'with a given target: allow hosts outside loopback (127.0.0.0/8, localhost, ::1); URLs with credentials are refused anyway' },
    HELP_FLAG,
  ],
  environment: [
    'TARGET_FLAWS=a,b   flaws of the reference target (a given target: checked, then ignored with a note)',
    'SCALE, DURATION, USER_POOL, SLO   the k6 environment (lib/README.md); PROFILE and RUN_ID are set by the smoke (--profile)',
    'INTEGRITY_SETTLE_MS, INTEGRITY_LATE_LIMIT, INTEGRITY_REORDERED_LIMIT, INTEGRITY_UNDELIVERED_LIMIT, INTEGRITY_SPAN_MS',
    'INTEGRITY_LOST_TARGET, INTEGRITY_DUPLICATES_TARGET, INTEGRITY_UNDELIVERED_TARGET   the integrity check (integrity/README.md)',
  ],
  exitCodes: [[0, 'pass'], [1, 'a threshold failed'], [2, 'bad usage or configuration (nothing sent)'], [130, 'interrupted by SIGINT (report kept)'], [143, 'interrupted by SIGTERM']],
  examples: ['npm run smoke', 'TARGET_FLAWS=single-endpoint npm run smoke', 'npm run smoke -- --target staging.json --allow-remote --profile baseline'],
};

/** The full --help text (kept as a name the CLI and tests use). */
export const SMOKE_USAGE = helpText(SMOKE_COMMAND);

/** Variables the smoke sets itself for k6: one given in the environment would be silently replaced, so it is refused. */
const RUNNER_SET_ENV = { PROFILE: '--profile', RUN_ID: 'the run id the smoke makes', ALLOW_REMOTE: '--allow-remote', SUMMARY_PATH: 'the run folder', FAULT_WINDOWS: 'a drill' } as const;

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

export { isLoopbackHost };

/** The host of a URL, or undefined when it is not a URL. */
export function hostOf(url: string): string | undefined {
  return urlParts(url)?.host;
}

/** Every URL a target file names that the suite may contact, with its key as the user wrote it (`dbmanNodes.0.url`). */
export function targetUrls(target: Partial<TargetFile>): { key: string; url: string; schemes: readonly string[] }[] {
  const web = ['http', 'https'] as const;
  const out: { key: string; url: string; schemes: readonly string[] }[] = [];
  if (target.chatUrl !== undefined) out.push({ key: 'chatUrl', url: target.chatUrl, schemes: web });
  if (target.authUrl !== undefined) out.push({ key: 'authUrl', url: target.authUrl, schemes: web });
  if (target.wsUrl !== undefined) out.push({ key: 'wsUrl', url: target.wsUrl, schemes: ['ws', 'wss'] });
  if (target.sessionUrl !== undefined) out.push({ key: 'sessionUrl', url: target.sessionUrl, schemes: web });
  if (target.tenanthubUrl !== undefined) out.push({ key: 'tenanthubUrl', url: target.tenanthubUrl, schemes: web });
  const component = (key: string, c: Component | undefined, schemes: readonly string[] = web) => {
    if (!c) return;
    out.push({ key: `${key}.url`, url: c.url, schemes });
    if (c.faults?.toxiproxy) out.push({ key: `${key}.faults.toxiproxy.apiUrl`, url: c.faults.toxiproxy.apiUrl, schemes: web });
    if (c.faults?.dbLink) out.push({ key: `${key}.faults.dbLink.apiUrl`, url: c.faults.dbLink.apiUrl, schemes: web });
  };
  (target.dbmanNodes ?? []).forEach((c, i) => component(`dbmanNodes.${i}`, c));
  (target.chatInstances ?? []).forEach((c, i) => component(`chatInstances.${i}`, c));
  component('orghub', target.orghub);
  (target.sessionInstances ?? []).forEach((c, i) => component(`sessionInstances.${i}`, c));
  (target.tenanthubInstances ?? []).forEach((c, i) => component(`tenanthubInstances.${i}`, c));
  component('redis', target.redis, ['redis', 'rediss', 'tcp']);
  component('postgres', target.postgres, ['postgres', 'postgresql', 'tcp']);
  (target.redisSentinel?.replicas ?? []).forEach((c, i) => component(`redisSentinel.replicas.${i}`, c, ['redis', 'rediss', 'tcp']));
  (target.redisSentinel?.sentinels ?? []).forEach((c, i) => component(`redisSentinel.sentinels.${i}`, c, ['redis', 'rediss', 'tcp']));
  (target.loadBalancers ?? []).forEach((b, i) => {
    component(`loadBalancers.${i}`, b);
    if (b.statsUrl) out.push({ key: `loadBalancers.${i}.statsUrl`, url: b.statsUrl, schemes: web });
  });
  return out;
}

/**
 * The loopback rule (lib/loopback.ts) over every URL of the target: each must be a plain URL without
 * credentials, and on loopback unless remote is allowed. Throws UsageError naming `setting(key)`.
 */
export function checkLoopback(target: Partial<TargetFile>, allowRemote: boolean, setting: (key: string) => string): void {
  for (const { key, url, schemes } of targetUrls(target)) {
    const why = refusalOf(url, allowRemote, schemes);
    if (why !== undefined) throw new UsageError(setting(key), `${setting(key)}: ${why}`);
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
export function parseSmokeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: { refuseRunnerSetEnv?: boolean } = {}): SmokeConfig {
  const { values } = parseCommandLine(SMOKE_COMMAND, argv);
  const flags = Flags.safeParse(values);
  if (!flags.success) {
    const issue = flags.error.issues[0]!;
    const name = `--${String(issue.path[0] ?? 'arguments')}`;
    throw new UsageError(name, issue.message.startsWith('--') ? issue.message : `${name}: ${issue.message}`);
  }
  const { target: targetPath, profile: profileRaw, 'allow-remote': allowRemote, help } = flags.data;
  if (help) return { help, profile: 'smoke', allowRemote, target: { kind: 'reference', flaws: [] } };
  for (const [name, instead] of opts.refuseRunnerSetEnv === false ? [] : Object.entries(RUNNER_SET_ENV)) {
    if (env[name] !== undefined && env[name] !== '') throw new UsageError(name, `${name}: set by the smoke itself, not read from the environment; allowed: unset it (use ${instead})`);
  }

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
      const names: Record<string, string> = { chatUrl: 'CHAT_URL', authUrl: 'AUTH_URL', wsUrl: 'WS_URL', sessionUrl: 'SESSION_URL', tenanthubUrl: 'TENANTHUB_URL' };
      // URL shape first (lib's parser names the variable), then the loopback rule.
      validateK6Env(k6EnvOf(fromEnv, profile.data, true), env);
      checkLoopback(fromEnv, allowRemote, (f) => names[f] ?? f);
    } else {
      if (allowRemote) throw new UsageError('--allow-remote', '--allow-remote: only with a given target (--target <file> or CHAT_URL, ...); the reference target runs on this machine');
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
