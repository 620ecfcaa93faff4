/**
 * The docker driver: faults on a container named by the target file's `faults.container` (the reference target's
 * `stack up --docker`, or a real deployment's containers, e.g. a Compose project's dbman services), through the
 * Docker Engine API (dockerode; DOCKER_HOST is honoured).
 *
 *   stop       docker stop (SIGTERM, SIGKILL after `stopTimeoutS`)      heal: start it when it does not run
 *   kill       docker kill (SIGKILL)                                    heal: start it when it does not run
 *   pause      docker pause (cgroup freezer: a frozen node)             heal: unpause when paused
 *   restart    docker restart                                           heal: start it when it does not run
 *   partition  disconnect it from every network it is on (prepare        heal: connect it again to each of
 *              records them with their aliases)                         them it is not on, same aliases
 *
 * Every heal looks at the container first and only does what is still needed, so it is idempotent and works
 * from the ledger entry alone in another process.
 */
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import type { Component } from '../../runner/target-file.js';
import type { FaultKind, FaultStep } from '../faults.js';
import type { FaultDriver, HealOutcome } from './driver.js';
import { FaultUsageError } from './driver.js';
import { dockerHostRefusal } from '../../runner/connections.js';

import { DOCKER_FAULTS, type DockerHandle } from '../handles.js';

export { DOCKER_FAULTS, type DockerHandle };


interface DockerError {
  statusCode?: number;
  message: string;
}

export class DockerDriver implements FaultDriver<DockerHandle> {
  readonly name = 'docker' as const;
  readonly kinds = DOCKER_FAULTS;
  private client: Docker | undefined;

  constructor(opts: { docker?: Docker; stopTimeoutS?: number } = {}) {
    this.client = opts.docker;
    this.stopTimeoutS = opts.stopTimeoutS ?? 10;
  }

  /** The Engine API client, made (and dockerode loaded) at the first container call: every drill has this driver. */
  private get docker(): Docker {
    this.client ??= new (createRequire(import.meta.url)('dockerode') as typeof Docker)();
    return this.client;
  }
  private readonly stopTimeoutS: number;

  reaches(node: Component): boolean {
    return node.faults?.container !== undefined;
  }

  /** The Docker API is a connection like any other: DOCKER_HOST under the loopback rule (runner/connections.ts). */
  private guard(): void {
    const why = dockerHostRefusal();
    if (why !== undefined) throw new FaultUsageError(why);
  }

  private async state(container: string) {
    this.guard();
    try {
      return await this.docker.getContainer(container).inspect();
    } catch (err) {
      if ((err as DockerError).statusCode === 404) throw new FaultUsageError(`docker: no container ${container}`);
      throw new Error(`docker: inspect ${container}: ${(err as DockerError).message}`);
    }
  }

  async prepare(step: FaultStep, node: Component): Promise<DockerHandle> {
    const container = node.faults?.container;
    if (!container) throw new FaultUsageError(`node ${node.name}: target file gives no faults.container`);
    const info = await this.state(container);
    if (!info.State.Running) throw new FaultUsageError(`node ${node.name}: container ${container} is not running (${info.State.Status})`);
    const h: DockerHandle = { node: node.name, container, id: info.Id.slice(0, 12) };
    if (step.fault === 'partition') {
      const nets = Object.entries(info.NetworkSettings.Networks ?? {}).filter(([name]) => !['host', 'none'].includes(name));
      if (!nets.length) throw new FaultUsageError(`node ${node.name}: container ${container} is on no network to cut`);
      // Docker adds the short id as an alias by itself; keep only the given ones
      h.networks = nets.map(([name, n]) => ({ name, aliases: (n.Aliases ?? []).filter((a: string) => !info.Id.startsWith(a)) }));
    }
    return h;
  }

  async inject(kind: FaultKind, h: DockerHandle): Promise<void> {
    this.guard();
    const c = this.docker.getContainer(h.container);
    switch (kind) {
      case 'stop':
        await c.stop({ t: this.stopTimeoutS });
        return;
      case 'kill':
        await c.kill({ signal: 'SIGKILL' });
        return;
      case 'pause':
        await c.pause();
        return;
      case 'restart':
        await c.restart({ t: this.stopTimeoutS });
        return;
      case 'partition':
        for (const n of h.networks ?? []) await this.docker.getNetwork(n.name).disconnect({ Container: h.container, Force: true });
        return;
      default:
        throw new FaultUsageError(`docker driver: no fault ${kind}`);
    }
  }

  async heal(kind: FaultKind, h: DockerHandle): Promise<HealOutcome> {
    const info = await this.state(h.container);
    const c = this.docker.getContainer(h.container);
    switch (kind) {
      case 'pause':
        if (!info.State.Paused) return { detail: `${h.container} not paused` };
        await c.unpause();
        return { detail: `unpaused ${h.container}` };
      case 'stop':
      case 'kill':
      case 'restart':
        if (info.State.Paused) await c.unpause();
        if (info.State.Running) return { detail: `${h.container} running` };
        await c.start();
        return { detail: `started ${h.container}` };
      case 'partition': {
        const on = new Set(Object.keys(info.NetworkSettings.Networks ?? {}));
        const back: string[] = [];
        for (const n of h.networks ?? []) {
          if (on.has(n.name)) continue;
          await this.docker.getNetwork(n.name).connect({ Container: h.container, EndpointConfig: { Aliases: n.aliases } });
          back.push(n.name);
        }
        return { detail: back.length ? `reconnected ${h.container} to ${back.join(', ')}` : `${h.container} already on its networks` };
      }
      default:
        throw new FaultUsageError(`docker driver: no fault ${kind}`);
    }
  }

  async inspect(kind: FaultKind, h: DockerHandle): Promise<string> {
    try {
      this.guard();
      const info = await this.docker.getContainer(h.container).inspect();
      const nets = Object.keys(info.NetworkSettings.Networks ?? {}).join(',') || 'no network';
      return `container ${h.container} ${info.State.Paused ? 'paused' : info.State.Status} on ${nets}${kind === 'partition' ? ` (was on ${(h.networks ?? []).map((n) => n.name).join(',')})` : ''}`;
    } catch (err) {
      return `container ${h.container}: ${(err as DockerError).message}`;
    }
  }
}
