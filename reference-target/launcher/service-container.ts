/**
 * Runs each app service as a container of the stack's image on the stack's Docker network (testcontainers, Ryuk
 * off): named `<stackId>-<name>`, labelled with the stack, its port published on 127.0.0.1 at a fixed host port
 * (so a restarted container keeps its URL), ready when its health path answers 200 (30 s). Each name is recorded
 * in `res.containers` before its start, so a failed start removes it too.
 */
import type { DockerResources } from './docker-engine.js';
import type { ServiceRunner, StartedService } from './service.js';

export interface StartedContainer extends StartedService {
  /** The container's name (`faults.container` in the target file). */
  container: string;
}

export interface ContainerRunnerOptions {
  image: string;
  stackId: string;
  res: DockerResources;
  /** Every service container's environment (its spec's env and PORT go over it). */
  env: Record<string, string>;
  mark: (component: string) => Record<string, string>;
}

export async function containerRunner(o: ContainerRunnerOptions): Promise<ServiceRunner<StartedContainer>> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  // the ports are published on 127.0.0.1 only; testcontainers' default host "localhost" may resolve to ::1 first
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const { Wait } = await import('testcontainers');
  const { LoopbackContainer } = await import('./loopback-container.js');
  return async (spec) => {
    const cname = `${o.stackId}-${spec.name}`;
    o.res.containers.push(cname);
    const started = await new LoopbackContainer(o.image)
      .withName(cname)
      .withNetworkMode(o.stackId)
      .withLabels({ 'dbman-target.stack': o.stackId, 'dbman-target.component': spec.name })
      .withCommand([`/app/${spec.bundle}.mjs`])
      .withEnvironment({ ...o.env, ...spec.env, PORT: String(spec.port), ...o.mark(spec.name) })
      .withLoopbackPort(spec.port, spec.hostPort)
      .withWaitStrategy(Wait.forHttp(spec.health, spec.port))
      .withStartupTimeout(30_000)
      .start();
    return {
      name: spec.name,
      container: cname,
      url: `http://127.0.0.1:${spec.hostPort}`,
      inner: `http://${cname}:${spec.port}`,
      stop: async () => {
        await started.stop();
      },
    };
  };
}
