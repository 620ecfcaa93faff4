/**
 * On the real Docker engine (provisioned by ensureDockerEngine when missing): the reference target's image is built
 * locally with `docker import` (no registry), reused while the bundle is unchanged, and testcontainers (Ryuk off)
 * runs a dbman node from it, reached through a published port on 127.0.0.1.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../../reference-target/launcher/build.js';
import { ensureDockerEngine, ensureTargetImage, imageTag } from '../../reference-target/launcher/docker-engine.js';

process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
const { GenericContainer, Wait } = await import('testcontainers');
type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>>;

let tag: string;
const started: Started[] = [];

beforeAll(async () => {
  await ensureDockerEngine((l) => process.stdout.write(`[docker setup] ${l}\n`));
  await buildServices();
  tag = ensureTargetImage((l) => process.stdout.write(`[docker setup] ${l}\n`));
}, 300_000);

afterAll(async () => {
  for (const c of started) await c.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
});

describe('engine provisioning', () => {
  it('without an engine and not root: one line saying what to do', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', "import('./reference-target/launcher/docker-engine.ts').then((m) => m.ensureDockerEngine()).catch((e) => { console.error(e.constructor.name + ': ' + e.message); process.exit(2); })"],
      { encoding: 'utf8', uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp', DOCKER_HOST: 'unix:///nonexistent/docker.sock', TSX_TSCONFIG_PATH: '' }, timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^DockerEngineError: docker: no Docker engine answers .*root on Debian/);
  });
});

describe('target image', () => {
  it('is tagged by content and found again without a rebuild', () => {
    expect(tag).toMatch(/^dbman-target:[0-9a-f]{16}$/);
    expect(imageTag()).toBe(tag);
    const t0 = Date.now();
    expect(ensureTargetImage()).toBe(tag);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status).toBe(0);
  });

  it('runs a dbman node under testcontainers: live 200, ready 503 without its database', async () => {
    const c = await new GenericContainer(tag)
      .withCommand(['/app/dbman.mjs'])
      .withEnvironment({
        HOST: '0.0.0.0',
        PORT: '8082',
        DBMAN_NODE_NAME: 'dbman-img',
        DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
        DBMAN_READY_TIMEOUT_MS: '500',
      })
      .withExposedPorts(8082)
      .withWaitStrategy(Wait.forHttp('/health/live', 8082))
      .withStartupTimeout(30_000)
      .start();
    started.push(c);
    const base = `http://127.0.0.1:${c.getMappedPort(8082)}`;
    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    const id = c.getId();
    await c.stop({ remove: true });
    started.pop();
    expect(spawnSync('docker', ['inspect', id], { stdio: 'ignore' }).status).not.toBe(0);
  }, 60_000);
});
