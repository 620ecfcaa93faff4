/**
 * An app service of a stack (dbman node, chat instance, orghub) as both stacks start it: what the service needs
 * (`ServiceSpec`: bundle, env, health path; `dbman-node.ts`, `chat-instance.ts`, `orghub.ts`) is given to a
 * runner that knows how to run it: as a detached process on loopback (`processRunner`, the local stack, and
 * orghub in the docker stack) or as a container (`service-container.ts`). Either way the start resolves once the
 * service answers 200 on its health path, with a started object that owns its end (`stop`), like
 * testcontainers' started containers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundlePath, type Service } from './build.js';
import type { StackContext } from './links.js';
import { isAlive, spawnDetached, stopProcesses, type ProcRecord } from './procs.js';
import { guardedFetch } from '../../runner/connections.js';

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

export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await guardedFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
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

/**
 * The environment every service process of a stack starts from: the launcher's, the service settings and
 * TARGET_FLAWS, without the variables each service gets from its own spec.
 */
export function serviceProcessEnv(serviceEnv: Record<string, string>, flaws: readonly string[]): NodeJS.ProcessEnv {
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production' };
  for (const k of ['DBMAN_ENDPOINT', 'DBMAN_ENDPOINTS', 'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) delete baseEnv[k];
  return baseEnv;
}

/**
 * Runs each service as a detached process (`node <bundle>`) on 127.0.0.1:<hostPort>, logging to
 * `<logsDir>/<name>.log`, recorded in `ctx.procs` as soon as it is spawned (so a failed start stops it too).
 */
export function processRunner(ctx: StackContext, baseEnv: NodeJS.ProcessEnv): ServiceRunner<StartedProcess> {
  return async (spec) => {
    const logFile = join(ctx.logsDir, `${spec.name}.log`);
    const proc = spawnDetached(spec.name, process.execPath, [bundlePath(spec.bundle)], {
      env: { ...baseEnv, ...spec.env, HOST: '127.0.0.1', PORT: String(spec.hostPort), ...ctx.mark(spec.name) },
      logFile,
      cwd: ctx.stateDir,
    });
    ctx.procs.push(proc);
    const url = `http://127.0.0.1:${spec.hostPort}`;
    await waitHealthy(spec.name, `${url}${spec.health}`, proc, logFile);
    return { name: spec.name, url, inner: url, proc, logFile, stop: () => stopProcesses([proc]) };
  };
}
