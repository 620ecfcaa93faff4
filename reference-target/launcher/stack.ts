/**
 * The reference stack: PostgreSQL + Redis in a fresh temp folder, migrations, 3 dbman nodes, 2 chat instances,
 * orghub, session and tenanthub (one each; two each behind the chat balancer), all on free loopback ports, as
 * detached processes that outlive the starter (each service: its own module, `dbman-node.ts`, `chat-instance.ts`,
 * `orghub.ts`, `session.ts`, `tenanthub.ts`, run by `service.ts: processRunner`). Writes the target
 * description file (`target-description.ts`). `stopStack` works from that file alone, after the starter died.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { readTargetFile, type FaultAccess, type TargetFile } from '../../runner/target-file.js';
import { hostPortOf } from '../../chaos/toxiproxy/server.js';
import { migrate, seed, SEED } from '../db/migrate.js';
import { parseFlaws, type Flaw } from '../flaws.js';
import { REPO_ROOT, buildServices } from './build.js';
import { startChatInstance } from './chat-instance.js';
import { startDbmanNode } from './dbman-node.js';
import { removeDockerResources, type DockerResources } from './docker-engine.js';
import { startPostgres, startRedis, type ListenOptions, type StartedInfra } from './infra.js';
import { balancerPorts, dbmanLbUrl, startBalancers, StackLinks, type LinkAddress, type StackContext, type TopologyOptions } from './links.js';
import { startOrghub } from './orghub.js';
import { lbServers, msaInstanceCount, msaTargetFields, startMsaServices } from './msa-services.js';
import { freePorts } from './ports.js';
import { COMPONENT_VAR, STACK_ID_VAR, findMarked, isAlive, isOurs, stopProcesses, type ProcRecord } from './procs.js';
import { registeredStacks, registerStack, unregisterStack } from './registry.js';
import { guardedFetch } from '../../runner/connections.js';
import { processRunner, serviceProcessEnv } from './service.js';
import { SENTINEL_COUNT, startSentinels } from './sentinel.js';
import { describeStack, redisComponent, sentinelDescription } from './target-description.js';

export const DEFAULT_TARGET_FILE = join(REPO_ROOT, '.state', 'target.json');

/**
 * The fast settings of the reference stack's dbman client (the client's own defaults when env is unset are the
 * contract's 5000 / 3 / 10000). A variable set in the launcher's environment wins over these.
 */
export const REFERENCE_SERVICE_ENV: Readonly<Record<string, string>> = {
  DBMAN_HTTP_TIMEOUT_MS: '1000',
  DBMAN_FAIL_THRESHOLD: '3',
  DBMAN_COOLDOWN_MS: '3000',
  DB_POOL_MAX: '8',
  BCRYPT_COST: '8',
};
/** Launcher environment variables passed on to the services when set. */
const PASSED_ENV = [...Object.keys(REFERENCE_SERVICE_ENV), 'TARGET_FLAW_DUPLICATE_SHARE', 'TARGET_FLAW_NOT_SERVING_MS', 'TARGET_FLAW_SLOW_MS', 'TARGET_FLAW_SLOW_TIMEOUT_MS', 'TARGET_FLAW_SLOW_COOLDOWN_MS', 'DBMAN_DRAIN_DELAY_MS', 'DBMAN_READY_TIMEOUT_MS'];

export interface StackOptions extends TopologyOptions {
  /** Flaw names (validated); default: TARGET_FLAWS from the environment. */
  flaws?: string[];
  /** Where to write the target description file; default `.state/target.json` under the repo. */
  targetFilePath?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
  /** Extra environment for every service (e.g. DBMAN_COOLDOWN_MS, TARGET_FLAW_DUPLICATE_SHARE); wins over defaults. */
  serviceEnv?: Record<string, string>;
  /** Number of dbman nodes (default 3) and chat instances (default 2). */
  dbmanNodes?: number;
  chatInstances?: number;
  /** Recorded as reference.launcherPid (set by `stack up --foreground`, whose process stays and stops the stack on a signal). */
  launcherPid?: number;
  /** Processes started for this stack by the caller, recorded so `down` stops them too. */
  processes?: ProcRecord[];
}

export interface RunningStack {
  target: TargetFile;
  targetFilePath: string;
  down(): Promise<void>;
}

export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function flawsFrom(opts: StackOptions): Flaw[] {
  return opts.flaws !== undefined ? parseFlaws(opts.flaws.join(',')) : parseFlaws(process.env['TARGET_FLAWS']);
}

/** Throws when the stack a target file names still runs; removes the folder of a dead one. */
export function refuseRunning(targetFilePath: string): void {
  if (existsSync(targetFilePath)) {
    let running = false;
    try {
      const old = readTargetFile(targetFilePath);
      const procs = (old.reference?.['processes'] as ProcRecord[] | undefined) ?? [];
      running = procs.some((p) => isAlive(p));
      if (!running && old.reference?.stateDir) rmSync(old.reference.stateDir, { recursive: true, force: true });
    } catch {
      /* unreadable: overwrite */
    }
    if (running) throw new Error(`a stack is already running per ${targetFilePath}: run "npm run stack -- down" first or choose another target file`);
  }
}

/** The start of every stack start: options resolved, a running stack refused, a fresh state folder with logs/. */
export function beginStart(opts: StackOptions) {
  const log = opts.log ?? (() => undefined);
  const flaws = flawsFrom(opts);
  const targetFilePath = resolve(opts.targetFilePath ?? DEFAULT_TARGET_FILE);
  refuseRunning(targetFilePath);
  const stateDir = mkdtempSync(join(tmpdir(), 'dbman-target-'));
  chmodSync(stateDir, 0o755);
  // before anything starts: `stack down` finds this stack even when its starter is killed while starting it
  registerStack({ stackId: basename(stateDir), stateDir, targetFilePath });
  const logsDir = join(stateDir, 'logs');
  mkdirSync(logsDir);
  return { log, flaws, targetFilePath, nDbman: opts.dbmanNodes ?? 3, nChat: opts.chatInstances ?? 2, stateDir, logsDir, stackId: basename(stateDir) };
}

/** PostgreSQL and Redis side by side; both processes are in `procs` before a failure of either is thrown. */
export async function startInfra(
  stateDir: string,
  pgPort: number,
  redisPort: number,
  log: (l: string) => void,
  mark: (component: string) => Record<string, string>,
  procs: ProcRecord[],
  listen?: ListenOptions,
): Promise<[StartedInfra, StartedInfra]> {
  const infra = await Promise.allSettled([
    startPostgres(stateDir, pgPort, log, mark('postgres'), listen),
    startRedis(stateDir, redisPort, log, mark('redis'), listen),
  ]);
  for (const r of infra) if (r.status === 'fulfilled') procs.push(r.value.proc);
  for (const r of infra) if (r.status === 'rejected') throw r.reason;
  return infra.map((r) => (r as PromiseFulfilledResult<StartedInfra>).value) as [StartedInfra, StartedInfra];
}

/** The services' settings: the reference defaults, then the launcher's environment, then `opts.serviceEnv`. */
export function serviceEnvOf(opts: StackOptions): Record<string, string> {
  const serviceEnv: Record<string, string> = { ...REFERENCE_SERVICE_ENV };
  for (const k of PASSED_ENV) if (process.env[k] !== undefined && process.env[k] !== '') serviceEnv[k] = process.env[k]!;
  Object.assign(serviceEnv, opts.serviceEnv ?? {});
  return serviceEnv;
}

/** Starts the whole stack; on any failure stops what it started, removes the folder and throws. */
export async function startStack(opts: StackOptions = {}): Promise<RunningStack> {
  const { log, flaws, targetFilePath, nDbman, nChat, stateDir, logsDir, stackId } = beginStart(opts);
  const procs: ProcRecord[] = [...(opts.processes ?? [])];
  const stopAll = async () => {
    await stopInOrder(procs, basename(stateDir));
    rmSync(stateDir, { recursive: true, force: true });
    unregisterStack(basename(stateDir));
  };

  try {
    log(`state folder ${stateDir}`);
    const nMsa = msaInstanceCount(opts);
    const nSentinelPorts = opts.redisSentinel ? 1 + SENTINEL_COUNT : 0;
    const [bundles, ports] = await Promise.all([buildServices(), freePorts(2 + nDbman + nChat + 1 + 2 * nMsa + nSentinelPorts)]);
    const [pickedPg, pickedRedis, ...appPorts] = ports as [number, number, ...number[]];
    const sentinelPorts = appPorts.splice(nDbman + nChat + 1 + 2 * nMsa);
    log(`bundled services into ${dirname(bundles.dbman)}`);

    log(`starting postgres on 127.0.0.1:${pickedPg} and redis on 127.0.0.1:${pickedRedis}`);
    // allSettled: when one fails, the other must have recorded its process before we stop everything.
    const mark = (component: string) => ({ [STACK_ID_VAR]: stackId, [COMPONENT_VAR]: component });
    const [pgInfra, redisInfra] = await startInfra(stateDir, pickedPg, pickedRedis, log, mark, procs);
    // where they listen: a port taken before the server bound it was replaced by a fresh one
    const [pgPort, redisPort] = [pgInfra.port, redisInfra.port];
    const sentinel = opts.redisSentinel ? await startSentinels(stateDir, redisPort, { replica: sentinelPorts[0]!, sentinels: sentinelPorts.slice(1) }, log, mark, procs) : undefined;

    const serviceEnv = serviceEnvOf(opts);
    const jwtSecret = randomBytes(24).toString('hex');
    const applied = await migrate(pgInfra.url);
    await seed(pgInfra.url, Number(serviceEnv['BCRYPT_COST'] ?? 10));
    log(`migrations: ${applied.length ? applied.join(', ') : 'none pending'}; seeded tenant "${SEED.tenantId}"`);

    const ctx: StackContext = { stateDir, logsDir, procs, log, mark };
    const run = processRunner(ctx, serviceProcessEnv(serviceEnv, flaws));
    const links = await StackLinks.start(ctx, !!opts.proxy);
    // through Sentinel the chat instances reach whichever Redis the sentinels name: no proxy in front of one
    const redisLink: LinkAddress = sentinel ? { address: `127.0.0.1:${redisPort}` } : await links.link('redis', `127.0.0.1:${redisPort}`);
    const dbLinks: LinkAddress[] = [];
    for (let i = 0; i < nDbman; i++) dbLinks.push(await links.link(`dbman-${i + 1}-db`, `127.0.0.1:${pgPort}`));
    const nodes = await Promise.all(
      dbLinks.map((dbLink, i) =>
        startDbmanNode(run, { index: i, hostPort: appPorts[i]!, databaseUrl: pgInfra.url.replace(`@127.0.0.1:${pgPort}/`, `@${dbLink.address}/`) }),
      ),
    );
    log(`dbman nodes ready: ${nodes.map((n) => `${n.name} ${n.url}`).join(', ')}`);

    // the path to each node (the app services', or the dbman LB's), through a proxy when proxies are on
    const nodeLinks: LinkAddress[] = [];
    for (const n of nodes) nodeLinks.push(await links.link(n.name, hostPortOf(n.url)));
    const lbPorts = await balancerPorts(opts);
    const dbmanEndpoints = opts.dbmanLb ? [dbmanLbUrl(lbPorts.dbman)] : nodeLinks.map((l) => `http://${l.address}`);
    const redis = sentinel ? { sentinels: sentinel.sentinels.map((s) => hostPortOf(s.url)).join(','), masterName: sentinel.masterName } : `redis://${redisLink.address}`;
    const apps = await Promise.all([
      ...Array.from({ length: nChat }, (_, i) => startChatInstance(run, { index: i, hostPort: appPorts[nDbman + i]!, dbmanEndpoints, jwtSecret, redis })),
      startOrghub(run, { hostPort: appPorts[nDbman + nChat]!, dbmanEndpoints, jwtSecret }),
    ]);
    const chats = apps.slice(0, nChat);
    const orghub = apps[nChat]!;
    log(`chat instances ready: ${chats.map((c) => `${c.name} ${c.url}`).join(', ')}; orghub ready: ${orghub.url}`);
    // session and tenanthub: one each, two each behind the chat balancer
    const msa = await startMsaServices(run, { ports: appPorts.slice(nDbman + nChat + 1), count: nMsa, dbmanEndpoints, jwtSecret });
    log(`session and tenanthub ready: ${[...msa.session, ...msa.tenanthub].map((a) => `${a.name} ${a.url}`).join(', ')}`);

    const lbs = await startBalancers(ctx, opts, {
      ports: lbPorts,
      chatServers: chats.map((c) => ({ name: c.name, address: hostPortOf(c.url) })),
      dbmanServers: nodes.map((n, i) => ({ name: n.name, address: nodeLinks[i]!.address })),
      sessionServers: lbServers(msa.session),
      tenanthubServers: lbServers(msa.tenanthub),
    });

    const dbmanFaults = (i: number): FaultAccess => ({
      pid: nodes[i]!.proc.pid,
      ...(nodeLinks[i]!.toxiproxy ? { toxiproxy: nodeLinks[i]!.toxiproxy } : {}),
      ...(dbLinks[i]!.toxiproxy ? { dbLink: dbLinks[i]!.toxiproxy } : {}),
    });
    const target = describeStack({
      mode: 'local',
      flaws,
      opts,
      stateDir,
      nodes: nodes.map((n, i) => ({ name: n.name, url: n.url, faults: dbmanFaults(i) })),
      chats: chats.map((c) => ({ name: c.name, url: c.url, faults: { pid: c.proc.pid } })),
      orghub: { url: orghub.url, pid: orghub.proc.pid },
      msa: msaTargetFields(msa, lbs, (a) => ({ pid: a.proc.pid })),
      redis: redisComponent(redisInfra.url, redisLink, redisInfra.proc.pid),
      ...(sentinel ? { redisSentinel: sentinelDescription(sentinel) } : {}),
      balancers: lbs,
      postgresInfra: pgInfra,
      redisInfra,
      extra: {
        stackId,
        processes: procs,
        logsDir,
        jwtSecret,
        dbmanEndpoints,
        serviceEnv,
        ...(links.toxiproxy ? { toxiproxy: { apiUrl: links.toxiproxy.apiUrl, pid: links.toxiproxy.pid } } : {}),
        ...(lbs.haproxy ? { haproxy: lbs.haproxy } : {}),
      },
    });
    writeAtomic(targetFilePath, `${JSON.stringify(target, null, 2)}\n`);
    writeAtomic(join(stateDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
    return { target, targetFilePath, down: () => stopStack(targetFilePath) };
  } catch (err) {
    log(`start failed, stopping what was started: ${(err as Error).message}`);
    await stopAll();
    throw err;
  }
}

function stackIdOf(t: TargetFile): string | undefined {
  const id = t.reference?.['stackId'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * The recorded processes plus every other live process marked with the stack id whose parent is not marked too
 * (a node restarted by a chaos driver; not postgres' own backends), as ProcRecords named by their component.
 */
function withStrays(recorded: ProcRecord[], stackId: string | undefined): ProcRecord[] {
  if (!stackId) return recorded;
  const marked = findMarked(stackId);
  const markedPids = new Set(marked.map((m) => m.pid));
  const known = new Set(recorded.map((p) => p.pid));
  const strays: ProcRecord[] = marked
    .filter((m) => !known.has(m.pid) && !markedPids.has(m.ppid))
    .map((m) => ({
      name: m.component ?? 'unknown',
      pid: m.pid,
      startTime: m.startTime,
      group: false,
      ...(m.component === 'postgres' ? { stopSignal: 'SIGINT' as const } : {}),
    }));
  return [...recorded, ...strays];
}

/** Stops apps, then dbman nodes, then PostgreSQL and Redis; restarted copies included; a last SIGKILL for anything marked. */
async function stopInOrder(recorded: ProcRecord[], stackId: string | undefined): Promise<void> {
  const isApp = (p: ProcRecord) => /^(chat|orghub|session|tenanthub)/.test(p.name) || p.name === 'unknown';
  const isDbman = (p: ProcRecord) => p.name.startsWith('dbman');
  await stopProcesses(withStrays(recorded, stackId).filter(isApp));
  await stopProcesses(withStrays(recorded, stackId).filter(isDbman));
  await stopProcesses(withStrays(recorded, stackId).filter((p) => !isApp(p) && !isDbman(p)));
  if (stackId) {
    for (const m of findMarked(stackId)) {
      try {
        process.kill(m.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** The processes a target file records, in stop order groups (apps, dbman, infra). */
function recordedProcesses(t: TargetFile): ProcRecord[] {
  const recorded = (t.reference?.['processes'] as ProcRecord[] | undefined) ?? [];
  if (recorded.length) return recorded;
  // Fallback for a file without the list: the pids of the components (no start time known).
  const out: ProcRecord[] = [];
  for (const c of [...t.chatInstances, ...(t.orghub ? [t.orghub] : []), ...t.sessionInstances, ...t.tenanthubInstances, ...t.dbmanNodes]) {
    if (c.faults.pid) out.push({ name: c.name, pid: c.faults.pid, group: true });
  }
  if (t.reference?.postgres.pid) out.push({ name: 'postgres', pid: t.reference.postgres.pid, stopSignal: 'SIGINT', group: true });
  if (t.reference?.redis.pid) out.push({ name: 'redis', pid: t.reference.redis.pid, group: true });
  return out;
}

/**
 * Stops every process the target file records (SIGCONT, SIGTERM, SIGKILL after a grace period), removes the
 * state folder and the target file. Works after the starter died. Throws when the file is missing or not a
 * reference stack.
 */
export async function stopStack(targetFilePath: string): Promise<void> {
  const path = resolve(targetFilePath);
  const t = readTargetFile(path);
  if (!t.reference) throw new Error(`target file ${path}: not a reference stack (no "reference" block), nothing to stop`);
  const procs = recordedProcesses(t);
  const launcherPid = t.reference.launcherPid;
  const launcherStartTime = t.reference['launcherStartTime'];
  // the foreground launcher, only when it is still the process that started (pid and start time)
  if (launcherPid && launcherPid !== process.pid && typeof launcherStartTime === 'number' && isOurs({ pid: launcherPid, startTime: launcherStartTime })) {
    try {
      process.kill(launcherPid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await removeDockerResources(t.reference['docker'] as DockerResources | undefined);
  await stopInOrder(procs, stackIdOf(t));
  const stateDir = t.reference.stateDir;
  if (stateDir && /dbman-target-/.test(stateDir)) rmSync(stateDir, { recursive: true, force: true });
  rmSync(path, { force: true });
  const id = stackIdOf(t);
  if (id) unregisterStack(id);
}

/**
 * Stops every stack this checkout started (registry.ts): from its target file when there is one, else (a starter
 * killed while starting) every process marked with its stack id; removes its state folder. Returns what it did.
 */
export async function stopAllStacks(log: (line: string) => void = () => {}): Promise<string[]> {
  const done: string[] = [];
  const { entries, unreadable } = registeredStacks();
  for (const u of unreadable) log(`skipped ${u}: not a stack registry entry`);
  for (const e of entries) {
    const fromFile = [e.targetFilePath, join(e.stateDir, 'target.json')].find((f) => {
      try {
        return stackIdOf(readTargetFile(f)) === e.stackId;
      } catch {
        return false;
      }
    });
    if (fromFile) {
      await stopStack(fromFile);
      if (fromFile !== e.targetFilePath && existsSync(e.targetFilePath)) rmSync(e.targetFilePath, { force: true });
      done.push(`${e.stackId} (${fromFile})`);
    } else {
      // killed while starting, before its target file: its processes are marked with its id
      await stopInOrder([], e.stackId);
      rmSync(e.stateDir, { recursive: true, force: true });
      unregisterStack(e.stackId);
      done.push(`${e.stackId} (started by pid ${e.startedBy}, no target file: its marked processes)`);
    }
  }
  return done;
}

export interface ComponentStatus {
  name: string;
  url: string;
  pid?: number;
  running: boolean;
  healthy: boolean;
  detail: string;
}

/** Health of every component a target file names (pid alive, health endpoint answers 200). */
export async function stackStatus(targetFilePath: string): Promise<ComponentStatus[]> {
  const t = readTargetFile(resolve(targetFilePath));
  const procs = recordedProcesses(t);
  const pidAlive = (pid: number | undefined) => {
    if (pid === undefined) return true;
    const rec = procs.find((p) => p.pid === pid);
    return isAlive(rec ?? { pid });
  };
  const marked = (() => {
    const id = stackIdOf(t);
    return id ? findMarked(id) : [];
  })();
  const check = async (name: string, url: string, healthPath: string, recordedPid?: number): Promise<ComponentStatus> => {
    let pid = recordedPid;
    let running = pidAlive(pid);
    if (!running) {
      const again = marked.find((m) => m.component === name && !marked.some((o) => o.pid === m.ppid));
      if (again) {
        pid = again.pid;
        running = true;
      }
    }
    let detail = 'no answer';
    let healthy = false;
    try {
      const res = await guardedFetch(`${url}${healthPath}`, { signal: AbortSignal.timeout(1500) });
      detail = `${res.status} ${(await res.text()).replace(/\s+/g, ' ').slice(0, 120)}`;
      healthy = res.status === 200;
    } catch (err) {
      detail = (err as Error).name === 'TimeoutError' ? 'timeout' : 'no answer';
    }
    if (pid !== recordedPid) detail += ` (restarted as pid ${pid}; the target file records ${recordedPid})`;
    return { name, url, pid, running, healthy, detail };
  };
  const checks: Array<Promise<ComponentStatus>> = [
    ...t.dbmanNodes.map((c) => check(c.name, c.url, '/health/ready', c.faults.pid)),
    ...t.chatInstances.map((c) => check(c.name, c.url, '/health', c.faults.pid)),
    ...(t.orghub ? [check('orghub', t.orghub.url, '/health', t.orghub.faults.pid)] : []),
    ...[...t.sessionInstances, ...t.tenanthubInstances].map((c) => check(c.name, c.url, '/health', c.faults.pid)),
    // through each balancer: chat's /health, or a ready dbman node behind it
    ...t.loadBalancers.map((lb) => check(lb.name, lb.url, lb.fronts === 'dbman' ? '/health/ready' : '/health', t.reference?.['haproxy'] ? (t.reference['haproxy'] as { pid: number }).pid : undefined)),
  ];
  const out = await Promise.all(checks);
  if (t.reference) {
    const infra = (name: string, url: string, pid?: number): ComponentStatus => {
      const running = pidAlive(pid);
      return { name, url, pid, running, healthy: running, detail: running ? 'process running' : 'process gone' };
    };
    out.push(infra('postgres', t.reference.postgres.url, t.reference.postgres.pid), infra('redis', t.reference.redis.url, t.reference.redis.pid));
    for (const c of [...(t.redisSentinel?.replicas ?? []), ...(t.redisSentinel?.sentinels ?? [])]) out.push(infra(c.name, c.url, c.faults.pid));
    const tp = t.reference['toxiproxy'] as { apiUrl: string; pid: number } | undefined;
    if (tp) out.push(await check('toxiproxy', tp.apiUrl, '/version', tp.pid));
    const hp = t.reference['haproxy'] as { statsUrl: string; pid: number } | undefined;
    if (hp) out.push(await check('haproxy', hp.statsUrl, ';csv', hp.pid));
  }
  return out;
}
