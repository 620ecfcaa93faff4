/**
 * The reference stack: PostgreSQL + Redis in a fresh temp folder, migrations, 3 dbman nodes, 2 chat instances,
 * orghub, all on free loopback ports, as detached processes that outlive the starter. Writes the target
 * description file (runner/target-file.ts). `stopStack` works from that file alone, after the starter died.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TargetFile, readTargetFile, type Component, type FaultAccess } from '../../runner/target-file.js';
import { migrate, seed, SEED } from '../db/migrate.js';
import { parseFlaws, type Flaw } from '../flaws.js';
import { REPO_ROOT, buildServices, type Service } from './build.js';
import { removeDockerResources, type DockerResources } from './docker-engine.js';
import { startPostgres, startRedis, type ListenOptions, type StartedInfra } from './infra.js';
import { balancerPorts, startBalancers, StackLinks, type LinkAddress, type StackContext, type TopologyOptions } from './links.js';
import { freePorts } from './ports.js';
import { COMPONENT_VAR, STACK_ID_VAR, findMarked, isAlive, spawnDetached, stopProcesses, type ProcRecord } from './procs.js';

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
const PASSED_ENV = [...Object.keys(REFERENCE_SERVICE_ENV), 'TARGET_FLAW_DUPLICATE_SHARE', 'DBMAN_DRAIN_DELAY_MS', 'DBMAN_READY_TIMEOUT_MS'];

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

/** Extra fields of the `reference` block (passthrough in the schema). */
interface ReferenceExtra {
  /** Every process of the stack has TARGET_STACK_ID=<stackId> in its environment (also a copy restarted by a chaos driver). */
  stackId: string;
  processes: ProcRecord[];
  logsDir: string;
  jwtSecret: string;
  dbmanEndpoints: string[];
  serviceEnv: Record<string, string>;
  /** With proxies: the stack's toxiproxy-server. */
  toxiproxy?: { apiUrl: string; pid: number };
  /** With a load balancer: the stack's haproxy. */
  haproxy?: { configPath: string; statsUrl: string; pid: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

async function waitHealthy(name: string, url: string, proc: ProcRecord, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await httpOk(url))) {
    if (!isAlive(proc)) throw new Error(`${name} exited while starting: ${logTail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`${name} not healthy at ${url} after ${timeoutMs} ms: ${logTail(logFile)}`);
    await sleep(50);
  }
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

/** The target file's name: "reference (local)", "reference (docker, dbman-lb, chat LB, proxies, flaws: a,b)". */
export function referenceName(mode: 'local' | 'docker', flaws: string[], o: TopologyOptions): string {
  const parts = [mode, o.dbmanLb && 'dbman-lb', o.chatLb && 'chat LB', o.proxy && 'proxies', flaws.length && `flaws: ${flaws.join(',')}`];
  return `reference (${parts.filter(Boolean).join(', ')})`;
}

/**
 * The target file's `redis`: the URL the chat instances use; faults by its process (stop, kill, pause, restart)
 * and, with proxies, by the proxy in front of it (network faults). The URL is the redis-server's own: a process
 * fault's restart waits until it accepts connections there.
 */
export function redisComponent(url: string, link: LinkAddress, pid: number): Component {
  return { name: 'redis', url, faults: { pid, ...(link.toxiproxy ? { toxiproxy: link.toxiproxy } : {}) } };
}

/** The target file's `postgres`: faults by its process (the postmaster; its backends are its process tree). */
export function postgresComponent(url: string, pid: number): Component {
  return { name: 'postgres', url, faults: { pid } };
}

/** Starts the whole stack; on any failure stops what it started, removes the folder and throws. */
export async function startStack(opts: StackOptions = {}): Promise<RunningStack> {
  const { log, flaws, targetFilePath, nDbman, nChat, stateDir, logsDir } = beginStart(opts);
  const procs: ProcRecord[] = [...(opts.processes ?? [])];
  const stopAll = async () => {
    await stopInOrder(procs, basename(stateDir));
    rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    log(`state folder ${stateDir}`);
    const [bundles, ports] = await Promise.all([buildServices(), freePorts(2 + nDbman + nChat + 1)]);
    const [pgPort, redisPort, ...appPorts] = ports as [number, number, ...number[]];
    log(`bundled services into ${dirname(bundles.dbman)}`);

    log(`starting postgres on 127.0.0.1:${pgPort} and redis on 127.0.0.1:${redisPort}`);
    // allSettled: when one fails, the other must have recorded its process before we stop everything.
    const stackId = basename(stateDir);
    const mark = (component: string) => ({ [STACK_ID_VAR]: stackId, [COMPONENT_VAR]: component });
    const [pgInfra, redisInfra] = await startInfra(stateDir, pgPort, redisPort, log, mark, procs);

    const serviceEnv = serviceEnvOf(opts);
    const jwtSecret = randomBytes(24).toString('hex');
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production' };
    for (const k of ['DBMAN_ENDPOINT', 'DBMAN_ENDPOINTS', 'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) delete baseEnv[k];

    const applied = await migrate(pgInfra.url);
    await seed(pgInfra.url, Number(serviceEnv['BCRYPT_COST'] ?? 10));
    log(`migrations: ${applied.length ? applied.join(', ') : 'none pending'}; seeded tenant "${SEED.tenantId}"`);

    const start = (name: string, service: Service, port: number, env: Record<string, string>) => {
      const logFile = join(logsDir, `${name}.log`);
      const p = spawnDetached(name, process.execPath, [bundles[service]], {
        env: { ...baseEnv, ...env, HOST: '127.0.0.1', PORT: String(port), ...mark(name) },
        logFile,
        cwd: stateDir,
      });
      procs.push(p);
      return { proc: p, logFile, url: `http://127.0.0.1:${port}` };
    };

    const ctx: StackContext = { stateDir, logsDir, procs, log, mark };
    const links = await StackLinks.start(ctx, !!opts.proxy);
    const redisLink = await links.link('redis', `127.0.0.1:${redisPort}`);
    const dbLinks: LinkAddress[] = [];
    for (let i = 0; i < nDbman; i++) dbLinks.push(await links.link(`dbman-${i + 1}-db`, `127.0.0.1:${pgPort}`));
    const nodes = dbLinks.map((dbLink, i) => {
      const name = `dbman-${i + 1}`;
      const port = appPorts[i]!;
      const databaseUrl = pgInfra.url.replace(`@127.0.0.1:${pgPort}/`, `@${dbLink.address}/`);
      return { name, port, dbLink, ...start(name, 'dbman', port, { DATABASE_URL: databaseUrl, DBMAN_NODE_NAME: name }) };
    });
    await Promise.all(nodes.map((n) => waitHealthy(n.name, `${n.url}/health/ready`, n.proc, n.logFile)));
    log(`dbman nodes ready: ${nodes.map((n) => `${n.name} ${n.url}`).join(', ')}`);

    // the path to each node (the app services', or the dbman LB's), through a proxy when proxies are on
    const nodeLinks: LinkAddress[] = [];
    for (const n of nodes) nodeLinks.push(await links.link(n.name, `127.0.0.1:${n.port}`));
    const lbPorts = await balancerPorts(opts);
    const dbmanEndpoints = opts.dbmanLb ? [`http://127.0.0.1:${lbPorts.dbman}`] : nodeLinks.map((l) => `http://${l.address}`);
    const appEnv = { DBMAN_ENDPOINTS: dbmanEndpoints.join(','), JWT_SECRET: jwtSecret };
    const redisUrl = `redis://${redisLink.address}`;

    const chats = Array.from({ length: nChat }, (_, i) => {
      const name = `chat-${i + 1}`;
      return { name, port: appPorts[nDbman + i]!, ...start(name, 'chat', appPorts[nDbman + i]!, { ...appEnv, REDIS_URL: redisUrl, CHAT_INSTANCE_NAME: name, CHAT_USE_MQ: 'false' }) };
    });
    const orghub = { name: 'orghub', ...start('orghub', 'orghub', appPorts[nDbman + nChat]!, appEnv) };
    await Promise.all([...chats, orghub].map((s) => waitHealthy(s.name, `${s.url}/health`, s.proc, s.logFile)));
    log(`chat instances ready: ${chats.map((c) => `${c.name} ${c.url}`).join(', ')}; orghub ready: ${orghub.url}`);

    const lbs = await startBalancers(ctx, opts, {
      ports: lbPorts,
      chatServers: chats.map((c) => ({ name: c.name, address: `127.0.0.1:${c.port}` })),
      dbmanServers: nodes.map((n, i) => ({ name: n.name, address: nodeLinks[i]!.address })),
    });

    const dbmanFaults = (i: number): FaultAccess => ({
      pid: nodes[i]!.proc.pid,
      ...(nodeLinks[i]!.toxiproxy ? { toxiproxy: nodeLinks[i]!.toxiproxy } : {}),
      ...(nodes[i]!.dbLink.toxiproxy ? { dbLink: nodes[i]!.dbLink.toxiproxy } : {}),
    });
    const extra: ReferenceExtra = {
      stackId,
      processes: procs,
      logsDir,
      jwtSecret,
      dbmanEndpoints,
      serviceEnv,
      ...(links.toxiproxy ? { toxiproxy: { apiUrl: links.toxiproxy.apiUrl, pid: links.toxiproxy.pid } } : {}),
      ...(lbs.haproxy ? { haproxy: lbs.haproxy } : {}),
    };
    const chatUrl = lbs.chat?.url ?? chats[0]!.url;
    const target = TargetFile.parse({
      version: 1,
      name: referenceName('local', flaws, opts),
      chatUrl,
      authUrl: orghub.url,
      wsUrl: `${chatUrl.replace(/^http/, 'ws')}/ws`,
      tenantId: SEED.tenantId,
      login: { email: SEED.adminEmail, password: SEED.adminPassword },
      dbmanNodes: nodes.map((n, i) => ({ name: n.name, url: n.url, faults: dbmanFaults(i) })),
      chatInstances: chats.map((c) => ({ name: c.name, url: c.url, faults: { pid: c.proc.pid } })),
      orghub: { name: 'orghub', url: orghub.url, faults: { pid: orghub.proc.pid } },
      redis: redisComponent(redisInfra.url, redisLink, redisInfra.proc.pid),
      postgres: postgresComponent(pgInfra.url, pgInfra.proc.pid),
      loadBalancers: lbs.loadBalancers,
      reference: {
        stateDir,
        ...(opts.launcherPid ? { launcherPid: opts.launcherPid } : {}),
        flaws,
        topology: opts.dbmanLb ? 'dbman-lb' : 'client-side',
        postgres: { url: pgInfra.url, pid: pgInfra.proc.pid },
        redis: { url: redisInfra.url, pid: redisInfra.proc.pid },
        ...extra,
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
  const isApp = (p: ProcRecord) => p.name.startsWith('chat') || p.name === 'orghub' || p.name === 'unknown';
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
  for (const c of [...t.chatInstances, ...(t.orghub ? [t.orghub] : []), ...t.dbmanNodes]) {
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
  if (launcherPid && launcherPid !== process.pid) {
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
      const res = await fetch(`${url}${healthPath}`, { signal: AbortSignal.timeout(1500) });
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
    // through each balancer: chat's /health, or a ready dbman node behind it
    ...t.loadBalancers.map((lb) => check(lb.name, lb.url, lb.fronts === 'chat' ? '/health' : '/health/ready', t.reference?.['haproxy'] ? (t.reference['haproxy'] as { pid: number }).pid : undefined)),
  ];
  const out = await Promise.all(checks);
  if (t.reference) {
    const infra = (name: string, url: string, pid?: number): ComponentStatus => {
      const running = pidAlive(pid);
      return { name, url, pid, running, healthy: running, detail: running ? 'process running' : 'process gone' };
    };
    out.push(infra('postgres', t.reference.postgres.url, t.reference.postgres.pid), infra('redis', t.reference.redis.url, t.reference.redis.pid));
    const tp = t.reference['toxiproxy'] as { apiUrl: string; pid: number } | undefined;
    if (tp) out.push(await check('toxiproxy', tp.apiUrl, '/version', tp.pid));
    const hp = t.reference['haproxy'] as { statsUrl: string; pid: number } | undefined;
    if (hp) out.push(await check('haproxy', hp.statsUrl, ';csv', hp.pid));
  }
  return out;
}
