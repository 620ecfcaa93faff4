/**
 * An app service of a stack (dbman node, chat instance, orghub) as both stacks start it: what the service needs
 * (`ServiceSpec`: bundle, env, health path; `dbman-node.ts`, `chat-instance.ts`, `orghub.ts`) is given to a
 * runner that knows how to run it: as a detached process on loopback (`processRunner`, the local stack, and
 * orghub in the docker stack) or as a container (`service-container.ts`). Either way the start resolves once the
 * service answers 200 on its health path, with a started object that owns its end (`stop`), like
 * testcontainers' started containers.
 */
import { join } from 'node:path';
import { bundlePath, type Service } from './build.js';
import type { StackContext } from './links.js';
import { isAlive, logTail, sizeOf, spawnDetached, stopProcesses, type ProcRecord } from './procs.js';
import { guardedFetch } from '../../runner/connections.js';
import { SERVICE_PID_HEADER } from '../shared/pid-header.js';
import { onFreePort, PortTakenError } from './ports.js';

export interface ServiceSpec {
  /** Component name: dbman-1, chat-2, orghub. */
  name: string;
  bundle: Service;
  /** The port it listens on inside a container (a process listens on `hostPort`). */
  port: number;
  /** The port it is reached at from the host (127.0.0.1). */
  hostPort: number;
  /** Its own variables, over the stack's common service environment. */
  env: Record<string, string>;
  /** Answers 200 once the service is ready. */
  health: string;
}

export interface StartedService {
  name: string;
  /** How the host reaches it: http://127.0.0.1:<hostPort>. */
  url: string;
  /** How the stack's other services reach it directly (a container's name on the network; a process: `url`). */
  inner: string;
  stop(): Promise<void>;
}

export type ServiceRunner<S extends StartedService = StartedService> = (spec: ServiceSpec) => Promise<S>;

export interface StartedProcess extends StartedService {
  proc: ProcRecord;
  logFile: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a health poll went: the started process answered 200, another process answered on its port, or not yet. */
type HealthAnswer = 'ours' | 'another process' | 'not yet';

async function healthOf(url: string, pid: number, timeoutMs = 1000): Promise<HealthAnswer> {
  try {
    const res = await guardedFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    if (res.status !== 200) return 'not yet';
    return res.headers.get(SERVICE_PID_HEADER) === String(pid) ? 'ours' : 'another process';
  } catch {
    return 'not yet';
  }
}

/**
 * Waits until the started process itself answers 200 on its health path: `ready`, or `port taken` when another
 * process answers there or the service exited because its port was in use (the port was free when the stack
 * picked it, and another stack or client took it before the service bound it). Throws on any other failure.
 */
async function waitHealthy(name: string, url: string, proc: ProcRecord, log: { file: string; from: number }, timeoutMs = 30_000): Promise<'ready' | 'port taken'> {
  const deadline = Date.now() + timeoutMs;
  const tailOf = () => logTail(log.file, log.from);
  for (;;) {
    const answer = await healthOf(url, proc.pid);
    if (answer === 'ours') return 'ready';
    if (answer === 'another process') return 'port taken';
    if (!isAlive(proc)) {
      const tail = tailOf();
      if (tail.includes('EADDRINUSE')) return 'port taken';
      throw new Error(`${name} exited while starting: ${tail}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} not healthy at ${url} after ${timeoutMs} ms: ${tailOf()}`);
    await sleep(50);
  }
}

/**
 * The environment every service process of a stack starts from: the launcher's, the service settings and
 * TARGET_FLAWS, without the variables each service gets from its own spec.
 */
export function serviceProcessEnv(serviceEnv: Record<string, string>, flaws: readonly string[]): NodeJS.ProcessEnv {
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production' };
  for (const k of ['DBMAN_ENDPOINT', 'DBMAN_ENDPOINTS', 'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) delete baseEnv[k];
  return baseEnv;
}

/** How many ports a service start tries before it gives up on ports being taken under it. */
const PORT_ATTEMPTS = 4;

/**
 * Runs each service as a detached process (`node <bundle>`) on 127.0.0.1:<hostPort>, logging to
 * `<logsDir>/<name>.log`, recorded in `ctx.procs` as soon as it is spawned (so a failed start stops it too).
 * When its port was taken before it bound it, it is started again on a fresh port (its URL says which).
 */
export function processRunner(ctx: StackContext, baseEnv: NodeJS.ProcessEnv): ServiceRunner<StartedProcess> {
  return async (spec) => {
    const logFile = join(ctx.logsDir, `${spec.name}.log`);
    const startOn = async (port: number): Promise<StartedProcess> => {
      const from = sizeOf(logFile);
      const proc = spawnDetached(spec.name, process.execPath, [bundlePath(spec.bundle)], {
        env: { ...baseEnv, ...spec.env, HOST: '127.0.0.1', PORT: String(port), ...ctx.mark(spec.name) },
        logFile,
        cwd: ctx.stateDir,
      });
      ctx.procs.push(proc);
      const url = `http://127.0.0.1:${port}`;
      if ((await waitHealthy(spec.name, `${url}${spec.health}`, proc, { file: logFile, from })) === 'ready') {
        return { name: spec.name, url, inner: url, proc, logFile, stop: () => stopProcesses([proc]) };
      }
      await stopProcesses([proc]);
      ctx.procs.splice(ctx.procs.indexOf(proc), 1);
      throw new PortTakenError(`${spec.name}: 127.0.0.1:${port} was taken by another process before it bound it`);
    };
    return (await onFreePort(spec.hostPort, PORT_ATTEMPTS, ctx.log, startOn)).started;
  };
}
