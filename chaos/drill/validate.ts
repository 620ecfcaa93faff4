/**
 * Everything a drill was given, validated before it starts, creates or contacts anything (the drill calls this
 * first): the spec (already parsed from flags or a drill file) against the target it will run on (a target file,
 * or the shape of the reference target it would start), the k6 environment it would hand k6 (SCALE, DURATION,
 * FAULT_WINDOWS, SLO, ...), the windows against the run's length, faults overlapping in time on different nodes,
 * the ledger path, TARGET_FLAWS and the integrity settings. Every refusal is a UsageError naming what the user
 * wrote: the flag (`--at`), the drill file key (`drill.yaml: faults.1.node`) or the variable (`SCALE`).
 *
 * PURE apart from reading the target file and checking the ledger path: nothing is started or sent.
 */
import { integrityOptionsFromEnv, type IntegrityOptions } from '../../integrity/index.js';
import { loadDurationS, resolveProfile } from '../../lib/profiles.js';
import { parseFlaws, type Flaw } from '../../reference-target/flaws.js';
import { msaInstanceCount, msaInstanceNames } from '../../reference-target/launcher/msa-services.js';
import { didYouMean } from '../../runner/cli-flags.js';
import { checkLoopback, k6EnvOf, validateK6Env } from '../../runner/smoke-config.js';
import { readTargetFile, TargetFileError, type Component, type FaultAccess, type TargetFile } from '../../runner/target-file.js';
import { UsageError } from '../../runner/usage-error.js';
import { pickDriver } from '../drivers/driver.js';
import { faultTargets } from '../fault-targets.js';
import { SLOW_PATH_NODE } from '../slow-path.js';
import { faultWindows, NETWORK_FAULTS } from '../faults.js';
import { defaultLedgerPath, ledgerPathProblem } from '../ledger.js';
import { defaultDrivers } from '../nemesis.js';
import { clientSettingsOf } from '../../reference-target/launcher/target-description.js';
import { serviceEnvOf } from '../../reference-target/launcher/stack.js';
import { sizeDrillSpec } from './added-steps.js';
import { needsChatLb, needsProxy, type DrillSpec } from './spec.js';

/** Variables the drill sets for k6 itself: one in the environment would be silently replaced, so it is refused. */
const DRILL_SET_ENV = { PROFILE: '--profile', DURATION: '--duration', FAULT_WINDOWS: '--at/--for or a drill file', RUN_ID: 'the run id the drill makes', ALLOW_REMOTE: '--allow-remote', SUMMARY_PATH: 'the run folder' } as const;

export interface DrillGiven {
  spec: DrillSpec;
  /** A target file, or none: the drill starts the reference target (on the host, or on Docker). */
  targetPath?: string;
  docker?: boolean;
  allowRemote?: boolean;
  ledgerPath?: string;
  /** How the user gave the faults: `--file drills/x.yaml`, or flags (undefined). */
  drillFile?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ValidDrill {
  /** The parsed target file, when one was given. */
  given: TargetFile | undefined;
  flaws: Flaw[];
  ledgerPath: string;
  integrity: IntegrityOptions;
  /** Seconds of load k6 will run (the profile with DURATION), and the windows it gets. */
  loadS: number;
  windows: [number, number][];
}

/** The name of a fault's setting as the user wrote it: `--node` for a single fault from flags, `x.yaml: faults.1.node` from a file. */
function settingOf(input: DrillGiven, i: number, key: 'node' | 'at' | 'for' | 'fault'): string {
  if (input.drillFile === undefined && input.spec.faults.length === 1) return `--${key}`;
  return `${input.drillFile ?? 'drill'}: faults.${i}.${key}`;
}

/**
 * The parts of the reference target the drill would start, and how faults reach them: what startStack and
 * startDockerStack write into the target file (the stack tests compare this with the real file).
 */
export function referenceShape(topology: { proxy: boolean; chatLb: boolean; dbmanLb: boolean; docker?: boolean; redisSentinel?: boolean }): Component[] {
  const url = 'http://127.0.0.1:1';
  const proxyAccess = { apiUrl: url, proxy: 'p' };
  const dbman = (i: number): Component => ({
    name: `dbman-${i}`,
    url,
    faults: { ...(topology.docker ? { container: `dbman-${i}` } : { pid: 1 }), ...(topology.proxy ? { toxiproxy: proxyAccess, dbLink: proxyAccess } : {}) } as FaultAccess,
  });
  const chat = (i: number): Component => ({ name: `chat-${i}`, url, faults: topology.docker ? { container: `chat-${i}` } : { pid: 1 } });
  return [
    dbman(1), dbman(2), dbman(3), chat(1), chat(2),
    { name: 'orghub', url, faults: { pid: 1 } },
    ...(['session', 'tenanthub'] as const).flatMap((svc) => msaInstanceNames(svc, msaInstanceCount(topology)).map((name): Component => ({ name, url, faults: { pid: 1 } }))),
    { name: 'redis', url: 'redis://127.0.0.1:1', faults: topology.proxy ? { pid: 1, toxiproxy: proxyAccess } : { pid: 1 } },
    ...(topology.redisSentinel ? ['redis-replica-1', 'sentinel-1', 'sentinel-2', 'sentinel-3'].map((name): Component => ({ name, url: 'redis://127.0.0.1:1', faults: { pid: 1 } })) : []),
    { name: 'postgres', url: 'postgres://127.0.0.1:1', faults: { pid: 1 } },
    ...(topology.chatLb ? [{ name: 'chat-lb', url, faults: {} }] : []),
    ...(topology.dbmanLb ? [{ name: 'dbman-lb', url, faults: {} }] : []),
    ...(topology.chatLb ? [{ name: 'session-lb', url, faults: {} }, { name: 'tenanthub-lb', url, faults: {} }] : []),
  ];
}

/** Each fault's node exists in `parts` and a driver reaches it for that fault. */
function checkNodes(input: DrillGiven, parts: Component[], where: string): void {
  const drivers = defaultDrivers();
  const names = parts.map((c) => c.name);
  input.spec.faults.forEach((f, i) => {
    if (f.node === SLOW_PATH_NODE) return; // the drill's own slow path (slowConsumers), started by the drill
    const setting = settingOf(input, i, 'node');
    const node = parts.find((c) => c.name === f.node);
    if (!node) throw new UsageError(setting, `${setting}: no node ${f.node} in ${where}${didYouMean(f.node, names)}; nodes: ${names.join(', ')}`);
    try {
      pickDriver(drivers, f.fault, node);
    } catch (err) {
      const hint = input.targetPath && ((NETWORK_FAULTS as readonly string[]).includes(f.fault) || f.fault === 'db-cut')
        ? ' (a drill without --target puts proxies in front of the dbman nodes, on their PostgreSQL links and in front of Redis by itself)'
        : '';
      throw new UsageError(setting, `${setting}: ${(err as Error).message}${hint}`);
    }
  });
}

/** Faults must follow one another in time (k6's phases: baseline, fault, recovery), also on different nodes. */
function checkOverlaps(input: DrillGiven): void {
  const order = input.spec.faults.map((f, i) => ({ f, i })).sort((a, b) => a.f.at - b.f.at);
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1]!;
    const cur = order[k]!;
    if (cur.f.at < prev.f.at + prev.f.for) {
      const setting = settingOf(input, cur.i, 'at');
      throw new UsageError(setting, `${setting}: fault ${cur.i} (${cur.f.fault} on ${cur.f.node} at ${cur.f.at}s) starts before fault ${prev.i} (${prev.f.fault} on ${prev.f.node}) ends at ${prev.f.at + prev.f.for}s; allowed: faults one after another in time (the drill judges a fault phase and a recovery for each)`);
    }
  }
}

/** The k6 environment's checks, named as the user wrote them (DURATION comes from --duration or the faults). */
function checkK6Env(input: DrillGiven, target: TargetFile, windows: [number, number][], env: NodeJS.ProcessEnv): number {
  const { spec } = input;
  const durationSetting = input.drillFile === undefined ? '--duration' : `${input.drillFile}: duration`;
  const k6Env = { ...k6EnvOf(target, spec.profile, (input.allowRemote ?? false) && input.targetPath !== undefined), RUN_ID: 'validate', FAULT_WINDOWS: JSON.stringify(windows), DURATION: `${spec.durationS}s` };
  let parsed;
  try {
    parsed = validateK6Env(k6Env, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.setting === 'DURATION') {
      const last = spec.faults.reduce((a, f, i) => (f.at + f.for > a.end ? { end: f.at + f.for, i } : a), { end: 0, i: 0 });
      const setting = spec.duration !== undefined ? durationSetting : settingOf(input, last.i, 'at');
      throw new UsageError(setting, `${setting}: the load would last ${spec.durationS}s; allowed: a load from 5s to 6h (faults end at ${last.end}s, plus ${spec.durationS - last.end}s of recovery)`);
    }
    if (err.setting === 'FAULT_WINDOWS') throw new UsageError(settingOf(input, 0, 'at'), `${settingOf(input, 0, 'at')}: the faults' windows ${JSON.stringify(windows)} are not allowed: ${err.message}`);
    throw err;
  }
  const loadS = loadDurationS(resolveProfile(spec.profile, parsed));
  spec.faults.forEach((f, i) => {
    if (f.at + f.for > loadS) {
      const setting = spec.duration !== undefined ? durationSetting : settingOf(input, i, 'for');
      throw new UsageError(setting, `${setting}: fault ${i} (${f.fault} on ${f.node}) ends at ${f.at + f.for}s, after the load of profile ${spec.profile} (${Math.round(loadS)}s); allowed: faults that end within the load`);
    }
  });
  return loadS;
}

/** Validates everything; returns what the drill needs, or throws a UsageError (nothing started, created or sent). */
export function validateDrill(input: DrillGiven): ValidDrill {
  const env = input.env ?? process.env;
  const { spec } = input;
  for (const [name, instead] of Object.entries(DRILL_SET_ENV)) {
    if (env[name] !== undefined && env[name] !== '') throw new UsageError(name, `${name}: set by the drill itself, not read from the environment; allowed: unset it (use ${instead})`);
  }
  let integrity: IntegrityOptions;
  try {
    integrity = integrityOptionsFromEnv(env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let flaws: Flaw[];
  try {
    flaws = parseFlaws(env.TARGET_FLAWS);
  } catch (err) {
    throw new UsageError('TARGET_FLAWS', (err as Error).message);
  }
  const ledgerPath = input.ledgerPath ?? defaultLedgerPath();
  const ledgerWhy = ledgerPathProblem(ledgerPath);
  if (ledgerWhy) {
    const setting = input.ledgerPath !== undefined ? '--ledger' : env.CHAOS_LEDGER !== undefined ? 'CHAOS_LEDGER' : '--ledger';
    throw new UsageError(setting, `${setting}: ${ledgerWhy}; allowed: a file the drill can append to`);
  }
  if (input.allowRemote && !input.targetPath) throw new UsageError('--allow-remote', '--allow-remote: only with --target <file> (the reference target runs on this machine)');
  let given: TargetFile | undefined;
  let target: TargetFile;
  if (input.targetPath) {
    if (spec.proxy || spec.chatLb || spec.dbmanLb) {
      const set = [spec.proxy && '--proxy', spec.chatLb && '--lb', spec.dbmanLb && '--dbman-lb'].filter(Boolean).join(', ');
      throw new UsageError(set.split(',')[0]!, `${set}: only without --target (they shape the reference target the drill starts; a target file describes its own proxies and balancers)`);
    }
    try {
      given = readTargetFile(input.targetPath);
    } catch (err) {
      if (err instanceof TargetFileError) throw new UsageError('--target', `--target: ${err.message}`);
      throw err;
    }
    checkLoopback(given, input.allowRemote ?? false, (key) => `--target ${key}`);
    if (spec.redisSentinel && !given.redisSentinel) throw new UsageError('redisSentinel', `redisSentinel: ${input.targetPath} has no redisSentinel (allowed: a target file with redisSentinel {masterName, sentinels}, or no --target)`);
    checkNodes(input, faultTargets(given), input.targetPath);
    target = given;
  } else {
    if (input.docker && spec.redisSentinel) throw new UsageError('--redis-sentinel', '--redis-sentinel: not with --docker (allowed: the local reference target, whose sentinels name loopback addresses)');
    const topology = { proxy: spec.proxy || needsProxy(spec), chatLb: spec.chatLb || needsChatLb(spec), dbmanLb: spec.dbmanLb, docker: input.docker ?? false, redisSentinel: spec.redisSentinel };
    checkNodes(input, referenceShape(topology), `the reference target${input.docker ? ' on Docker' : ''}`);
    target = { version: 1, name: 'reference', chatUrl: 'http://127.0.0.1:1', authUrl: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/ws', tenantId: 'default', login: { email: 'placeholder', password: 'placeholder' }, dbmanNodes: [], chatInstances: [], sessionInstances: [], tenanthubInstances: [], loadBalancers: [] };
  }
  // the faults as the drill will run them: stall faults without --for sized from the client settings the
  // target has (a target file's dbmanClient, or what the reference target the drill starts will be given)
  const dbmanClient = given ? given.dbmanClient : clientSettingsOf(serviceEnvOf({}), flaws);
  const sized: DrillGiven = { ...input, spec: sizeDrillSpec(spec, dbmanClient).spec };
  checkOverlaps(sized);
  const windows = faultWindows(sized.spec.faults);
  const loadS = checkK6Env(sized, target, windows, env);
  return { given, flaws, ledgerPath, integrity, loadS, windows };
}

