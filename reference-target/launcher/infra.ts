/**
 * PostgreSQL, Redis (and HAProxy for the load balancers) from the machine's binaries, in a temp folder, on given loopback ports.
 * Missing binaries are installed with apt-get when running as root on Debian; otherwise a one-line error says
 * what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onFreePort, PortTakenError } from './ports.js';
import { isAlive, logTail, sizeOf, spawnDetached, stopProcesses, type ProcRecord } from './procs.js';

export class InfraError extends Error {}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const isDebian = () => existsSync('/etc/debian_version');

function which(bin: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

function aptInstall(pkg: string, log: (l: string) => void): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, encoding: 'utf8', timeout: 600_000 });
  log(`installing ${pkg} with apt-get ...`);
  let r = install();
  if (r.status !== 0 && /Unable to locate package|has no installation candidate|404\s+Not Found/i.test(`${r.stdout}${r.stderr}`)) {
    log('apt-get update ...');
    spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 600_000 });
    r = install();
  }
  if (r.status !== 0) {
    const last = `${r.stderr}`.trim().split('\n').pop() ?? '';
    throw new InfraError(`apt-get install ${pkg} failed: ${last}`);
  }
}

/** Finds a binary, installing its Debian package when allowed; throws a one-line InfraError otherwise. */
function ensure(find: () => string | undefined, pkg: string, what: string, log: (l: string) => void): string {
  const found = find();
  if (found) return found;
  if (isRoot() && isDebian()) {
    aptInstall(pkg, log);
    const again = find();
    if (again) return again;
  }
  throw new InfraError(`${what} not found: install ${pkg} (e.g. apt-get install ${pkg}) or put it on PATH`);
}

/** The folder with initdb and postgres: PG_BIN_DIR, else the newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function findPostgresBin(log: (l: string) => void): string {
  const find = (): string | undefined => {
    const env = process.env['PG_BIN_DIR'];
    if (env && existsSync(join(env, 'postgres'))) return env;
    const base = '/usr/lib/postgresql';
    if (existsSync(base)) {
      const versions = readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'postgres')) && existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a));
      if (versions[0]) return join(base, versions[0], 'bin');
    }
    const initdb = which('initdb');
    return initdb && which('postgres') ? initdb.replace(/\/initdb$/, '') : undefined;
  };
  return ensure(find, 'postgresql', 'PostgreSQL (initdb, postgres)', log);
}

/** A binary from `envVar`, else PATH, /usr/sbin or /usr/bin; its Debian package installed when missing (ensure). */
function findBinary(envVar: string, bin: string, pkg: string, what: string, log: (l: string) => void): string {
  const find = () => {
    const env = process.env[envVar];
    if (env && existsSync(env)) return env;
    return which(bin) ?? ['/usr/sbin', '/usr/bin'].map((d) => join(d, bin)).find((f) => existsSync(f));
  };
  return ensure(find, pkg, what, log);
}

export function findRedisServer(log: (l: string) => void): string {
  return findBinary('REDIS_SERVER_BIN', 'redis-server', 'redis-server', 'redis-server', log);
}

/** redis-sentinel from REDIS_SENTINEL_BIN, else PATH (Debian's `redis-sentinel` package). */
export function findRedisSentinel(log: (l: string) => void): string {
  return findBinary('REDIS_SENTINEL_BIN', 'redis-sentinel', 'redis-sentinel', 'Redis Sentinel (redis-sentinel)', log);
}

/** HAProxy from HAPROXY_BIN, else PATH or /usr/sbin (Debian's `haproxy` package). */
export function findHaproxy(log: (l: string) => void): string {
  return findBinary('HAPROXY_BIN', 'haproxy', 'haproxy', 'HAProxy (haproxy)', log);
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new InfraError('running as root but there is no "postgres" user to run PostgreSQL as (install postgresql)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartedInfra {
  url: string;
  /** Where it listens: the port asked for, or a fresh one when that was taken before the server bound it. */
  port: number;
  proc: ProcRecord;
}

/** Extra listen addresses (docker mode: the Docker network's gateway) and the client network allowed in pg_hba. */
export interface ListenOptions {
  hosts: string[];
  allowCidr?: string;
}
const LOOPBACK: ListenOptions = { hosts: ['127.0.0.1'] };

/**
 * The server that answered on `port` is the one just started (its data folder is `ownDir`), not another that took
 * the port between the stack picking it and this server binding it: else stops the one started and throws.
 */
async function ensureOwnServer(proc: ProcRecord, name: string, port: number, answeredDir: string, ownDir: string): Promise<void> {
  // both resolved: PostgreSQL reports the folder as it was given, Redis resolved (a symlinked TMPDIR differs)
  const real = (dir: string) => {
    try {
      return realpathSync(dir);
    } catch {
      return dir;
    }
  };
  if (real(answeredDir) === real(ownDir)) return;
  await stopProcesses([proc]);
  throw new PortTakenError(`${name}: port ${port} was taken by another server (data folder ${answeredDir}) before ${name} bound it`);
}

/** While a server starts: its own exit, with the reason from its log lines of this attempt (a failed bind: PortTakenError). */
function exitedWhileStarting(name: string, proc: ProcRecord, port: number, log: { file: string; from: number }): Error | undefined {
  if (isAlive(proc)) return undefined;
  const tail = logTail(log.file, log.from);
  if (/Address already in use/i.test(tail)) return new PortTakenError(`${name}: port ${port} was taken before ${name} bound it: ${tail}`);
  return new InfraError(`${name} exited while starting: ${tail}`);
}

/** How many ports PostgreSQL or Redis tries before it gives up on ports being taken under it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts a server on `port`, and when that port was taken before the server bound it (another process picked it
 * between the stack's pick and the bind), again on a fresh one (ports.ts onFreePort, as the app services): the
 * returned `port` says where it listens.
 */
async function onFreeInfraPort(port: number, log: (l: string) => void, start: (port: number) => Promise<Omit<StartedInfra, 'port'>>): Promise<StartedInfra> {
  try {
    const { started, port: bound } = await onFreePort(port, PORT_ATTEMPTS, log, start);
    return { ...started, port: bound };
  } catch (err) {
    if (err instanceof PortTakenError) throw new InfraError(`${err.message}, start the stack again`);
    throw err;
  }
}

export function startPostgres(stateDir: string, port: number, log: (l: string) => void, markEnv: Record<string, string> = {}, listen = LOOPBACK): Promise<StartedInfra> {
  return onFreeInfraPort(port, log, (p) => startPostgresOn(stateDir, p, log, markEnv, listen));
}

async function startPostgresOn(stateDir: string, port: number, log: (l: string) => void, markEnv: Record<string, string>, listen: ListenOptions): Promise<Omit<StartedInfra, 'port'>> {
  const bin = findPostgresBin(log);
  const user = postgresUser();
  const dataDir = join(stateDir, 'pg');
  rmSync(dataDir, { recursive: true, force: true }); // an earlier attempt's, on a port that was taken
  mkdirSync(dataDir, { mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  try {
    execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      uid: user?.uid,
      gid: user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new InfraError(`initdb failed: ${(e.stderr?.toString() ?? String(err)).trim().split('\n').pop()}`);
  }
  if (listen.allowCidr) appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${listen.allowCidr} trust\n`);
  const logFile = join(stateDir, 'logs', 'postgres.log');
  const from = sizeOf(logFile);
  const proc = spawnDetached(
    'postgres',
    join(bin, 'postgres'),
    [
      '-D', dataDir,
      '-k', dataDir,
      '-h', listen.hosts.join(','),
      '-p', String(port),
      '-c', 'fsync=off',
      // synchronous_commit stays on: with it off, a PostgreSQL crash (kill drill) loses the last ~0.6 s of
      // acknowledged commits, which the integrity check rightly reports as lost (fsync=off only risks a machine crash)
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=128MB',
      '-c', 'log_min_messages=warning',
    ],
    { env: { ...process.env, LC_ALL: 'C', ...markEnv }, logFile, uid: user?.uid, gid: user?.gid },
  );
  proc.stopSignal = 'SIGINT';
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  const { default: pg } = await import('pg'); // here, not at the top: CLIs that never start PostgreSQL skip it
  for (;;) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      const answered = (await c.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
      await c.end();
      await ensureOwnServer(proc, 'postgres', port, answered, dataDir);
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (err instanceof InfraError || err instanceof PortTakenError) throw err;
      const exited = exitedWhileStarting('postgres', proc, port, { file: logFile, from });
      if (exited) throw exited;
      if (Date.now() > deadline) throw new InfraError(`postgres did not accept connections on port ${port}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
  return { url, proc };
}

/** A second Redis of the stack (the Sentinel topology's replica): its name (folder, log, process record) and extra arguments. */
export interface RedisRole {
  name: string;
  args: string[];
}

export function startRedis(stateDir: string, port: number, log: (l: string) => void, markEnv: Record<string, string> = {}, listen = LOOPBACK, role: RedisRole = { name: 'redis', args: [] }): Promise<StartedInfra> {
  return onFreeInfraPort(port, log, (p) => startRedisOn(stateDir, p, log, markEnv, listen, role));
}

async function startRedisOn(stateDir: string, port: number, log: (l: string) => void, markEnv: Record<string, string>, listen: ListenOptions, role: RedisRole): Promise<Omit<StartedInfra, 'port'>> {
  const bin = findRedisServer(log);
  const dir = join(stateDir, role.name);
  rmSync(dir, { recursive: true, force: true }); // an earlier attempt's, on a port that was taken
  mkdirSync(dir);
  const logFile = join(stateDir, 'logs', `${role.name}.log`);
  const from = sizeOf(logFile);
  const proc = spawnDetached(
    role.name,
    bin,
    ['--port', String(port), '--bind', ...listen.hosts, '--save', '',
      // chat's client_msg_id dedup keys live here (contract: a repeat within 24 h is refused): a Redis restart or
      // kill must not forget them, or a sender's retry (its echo lost with the fan-out) is stored twice. Every
      // write reaches the file before Redis answers; no fsync, like PostgreSQL's fsync=off (only a machine crash loses it).
      '--appendonly', 'yes', '--appendfsync', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no',
      // keep /proc/<pid>/cmdline as started: the chaos process driver restarts a stopped or killed Redis from it
      '--set-proc-title', 'no', ...role.args],
    { env: { ...process.env, ...markEnv }, logFile },
  );
  const url = `redis://127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const answered = ((await r.config('GET', 'dir')) as string[])[1] ?? '';
      r.disconnect();
      await ensureOwnServer(proc, role.name, port, answered, dir);
      break;
    } catch (err) {
      r.disconnect();
      if (err instanceof InfraError || err instanceof PortTakenError) throw err;
      const exited = exitedWhileStarting(role.name, proc, port, { file: logFile, from });
      if (exited) throw exited;
      if (Date.now() > deadline) throw new InfraError(`${role.name} did not answer on port ${port}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
  return { url, proc };
}
