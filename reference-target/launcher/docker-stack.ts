/**
 * `npm run stack -- up --docker`: the reference stack with its dbman nodes and chat instances as containers
 * (testcontainers, Ryuk off, image built locally by ensureTargetImage) on a user-defined Docker network named after
 * the stack. PostgreSQL and Redis run as in local mode, listening on loopback and on that network's gateway
 * address (pg_hba lets the network's subnet in); orghub runs as a local process. Every container port is published
 * on 127.0.0.1 only, at a fixed host port (so a restarted container keeps its URL). The chat containers reach the
 * nodes by container name (Docker's DNS); orghub reaches them through the published ports. The target file gets
 * `faults.container` per node and chat instance and `reference.docker` = {network, containers, image}, which
 * `stopStack` removes. With `proxy`, `chatLb`, `dbmanLb` (reference-target/launcher/links.ts) toxiproxy-server and haproxy
 * run on the host, bound to 127.0.0.1 and the network's gateway only (target/README.md, "Docker mode").
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TargetFile } from '../../runner/target-file.js';
import { migrate, seed, SEED } from '../db/migrate.js';
import { bundlePath, buildServices } from './build.js';
import { ensureDockerEngine, ensureTargetImage, removeDockerResources, type DockerResources } from './docker-engine.js';
import { freePorts } from './ports.js';
import { COMPONENT_VAR, STACK_ID_VAR, isAlive, spawnDetached, stopProcesses, type ProcRecord } from './procs.js';
import { hostPortOf } from '../../chaos/toxiproxy/server.js';
import { balancerPorts, dbmanLbUrl, startBalancers, StackLinks, type LinkAddress, type StackContext } from './links.js';
import { beginStart, httpOk, postgresComponent, redisComponent, referenceName, serviceEnvOf, startInfra, stopStack, writeAtomic, type RunningStack, type StackOptions } from './stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DBMAN_PORT = 8082;
const CHAT_PORT = 8080;

async function loadTestcontainers() {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  // the ports are published on 127.0.0.1 only; testcontainers' default host "localhost" may resolve to ::1 first
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  const tc = await import('testcontainers');
  /** GenericContainer whose published ports bind 127.0.0.1 only (testcontainers itself binds every interface). */
  class LoopbackContainer extends tc.GenericContainer {
    publishLoopback(container: number, host: number): this {
      this.withExposedPorts({ container, host });
      const b = this.hostConfig.PortBindings as Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
      for (const k of Object.keys(b)) b[k] = b[k]!.map((x) => ({ ...x, HostIp: '127.0.0.1' }));
      return this;
    }
  }
  return { LoopbackContainer, Wait: tc.Wait };
}

/** Like Promise.all, but waits for every start to settle first, so cleanup never races a container still starting. */
async function allStarted<T>(starts: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Starts the docker-mode stack; on any failure removes what it created and throws. */
export async function startDockerStack(opts: StackOptions = {}): Promise<RunningStack> {
  await ensureDockerEngine(opts.log);
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const { LoopbackContainer, Wait } = await loadTestcontainers();
  const { log, flaws, targetFilePath, nDbman, nChat, stateDir, logsDir, stackId } = beginStart(opts);
  const res: DockerResources = { network: stackId, containers: [] };
  const procs: ProcRecord[] = [];
  const mark = (component: string) => ({ [STACK_ID_VAR]: stackId, [COMPONENT_VAR]: component });

  try {
    log(`state folder ${stateDir}`);
    await buildServices();
    res.image = ensureTargetImage(log);
    const net = await docker.createNetwork({ Name: stackId, Driver: 'bridge', Labels: { 'dbman-target.stack': stackId } });
    const ipam = (await net.inspect()).IPAM?.Config?.[0] as { Gateway?: string; Subnet?: string } | undefined;
    if (!ipam?.Gateway || !ipam.Subnet) throw new Error(`docker network ${stackId} has no IPv4 gateway/subnet`);
    const gw = ipam.Gateway;
    log(`docker network ${stackId} (${ipam.Subnet}, gateway ${gw}); image ${res.image}`);

    const [pgPort, redisPort, ...appPorts] = (await freePorts(2 + nDbman + nChat + 1)) as [number, number, ...number[]];
    const listen = { hosts: ['127.0.0.1', gw], allowCidr: ipam.Subnet };
    const [pg, redis] = await startInfra(stateDir, pgPort, redisPort, log, mark, procs, listen);
    log(`postgres and redis on 127.0.0.1 and ${gw} (ports ${pgPort}, ${redisPort})`);

    const serviceEnv = serviceEnvOf(opts);
    const jwtSecret = randomBytes(24).toString('hex');
    await migrate(pg.url);
    await seed(pg.url, Number(serviceEnv['BCRYPT_COST'] ?? 10));

    const containerEnv = { ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production', HOST: '0.0.0.0' };
    const run = async (name: string, bundle: string, port: number, hostPort: number, env: Record<string, string>, health: string) => {
      const cname = `${stackId}-${name}`;
      res.containers.push(cname);
      await new LoopbackContainer(res.image!)
        .withName(cname)
        .withNetworkMode(stackId)
        .withLabels({ 'dbman-target.stack': stackId, 'dbman-target.component': name })
        .withCommand([`/app/${bundle}.mjs`])
        .withEnvironment({ ...containerEnv, ...env, PORT: String(port), ...mark(name) })
        .publishLoopback(port, hostPort)
        .withWaitStrategy(Wait.forHttp(health, port))
        .withStartupTimeout(30_000)
        .start();
      return { name, container: cname, url: `http://127.0.0.1:${hostPort}`, inner: `http://${cname}:${port}` };
    };
    // proxies (when on) listen on the network's gateway, so the containers and the host's processes both reach them;
    // they forward to loopback addresses (PostgreSQL, Redis, the containers' published ports)
    const ctx: StackContext = { stateDir, logsDir, procs, log, mark };
    const links = await StackLinks.start(ctx, !!opts.proxy, gw);
    const redisLink = await links.link('redis', `127.0.0.1:${redisPort}`, `${gw}:${redisPort}`);
    const dbLinks: LinkAddress[] = [];
    for (let i = 0; i < nDbman; i++) dbLinks.push(await links.link(`dbman-${i + 1}-db`, `127.0.0.1:${pgPort}`, `${gw}:${pgPort}`));
    const nodes = await allStarted(
      dbLinks.map((dbLink, i) =>
        run(`dbman-${i + 1}`, 'dbman', DBMAN_PORT, appPorts[i]!, { DATABASE_URL: pg.url.replace(`@127.0.0.1:${pgPort}/`, `@${dbLink.address}/`), DBMAN_NODE_NAME: `dbman-${i + 1}` }, '/health/ready'),
      ),
    );
    log(`dbman containers ready: ${nodes.map((n) => `${n.container} ${n.url}`).join(', ')}`);
    // the path to each node: its proxy (to the published port), else the container's name on the network
    const nodeLinks: LinkAddress[] = [];
    for (const n of nodes) nodeLinks.push(await links.link(n.name, hostPortOf(n.url), hostPortOf(n.inner)));
    const lbPorts = await balancerPorts(opts, gw);
    const lbUrl = dbmanLbUrl(lbPorts.dbman, gw);
    const chatEndpoints = opts.dbmanLb ? [lbUrl] : nodeLinks.map((l) => `http://${l.address}`);
    // orghub is a host process: container names do not resolve there, published ports do
    const orghubEndpoints = opts.dbmanLb ? [lbUrl] : links.toxiproxy ? chatEndpoints : nodes.map((n) => n.url);
    const redisUrl = `redis://${redisLink.address}`;
    const chats = await allStarted(
      Array.from({ length: nChat }, (_, i) =>
        run(
          `chat-${i + 1}`,
          'chat',
          CHAT_PORT,
          appPorts[nDbman + i]!,
          {
            DBMAN_ENDPOINTS: chatEndpoints.join(','),
            JWT_SECRET: jwtSecret,
            REDIS_URL: redisUrl,
            CHAT_INSTANCE_NAME: `chat-${i + 1}`,
            CHAT_USE_MQ: 'false',
          },
          '/health',
        ),
      ),
    );
    const orghubPort = appPorts[nDbman + nChat]!;
    const orghubLog = join(logsDir, 'orghub.log');
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production' };
    for (const k of ['DBMAN_ENDPOINT', 'DBMAN_ENDPOINTS', 'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) delete baseEnv[k];
    const orghub = spawnDetached('orghub', process.execPath, [bundlePath('orghub')], {
      env: { ...baseEnv, DBMAN_ENDPOINTS: orghubEndpoints.join(','), JWT_SECRET: jwtSecret, HOST: '127.0.0.1', PORT: String(orghubPort), ...mark('orghub') },
      logFile: orghubLog,
      cwd: stateDir,
    });
    procs.push(orghub);
    const orghubUrl = `http://127.0.0.1:${orghubPort}`;
    const deadline = Date.now() + 30_000;
    while (!(await httpOk(`${orghubUrl}/health`))) {
      if (!isAlive(orghub) || Date.now() > deadline) throw new Error(`orghub did not become healthy (log ${orghubLog})`);
      await sleep(50);
    }
    log(`chat containers ready: ${chats.map((c) => `${c.container} ${c.url}`).join(', ')}; orghub ready: ${orghubUrl}`);

    // HAProxy on the host: the chat LB on loopback in front of the chat containers' published ports; the dbman LB
    // on the gateway (the chat containers reach it there) in front of the nodes' proxies or published ports
    const lbs = await startBalancers(ctx, opts, {
      ports: lbPorts,
      dbmanHost: gw,
      chatServers: chats.map((c) => ({ name: c.name, address: hostPortOf(c.url) })),
      dbmanServers: nodes.map((n, i) => ({ name: n.name, address: links.toxiproxy ? nodeLinks[i]!.address : hostPortOf(n.url) })),
    });
    const chatUrl = lbs.chat?.url ?? chats[0]!.url;

    const target = TargetFile.parse({
      version: 1,
      name: referenceName('docker', flaws, opts),
      chatUrl,
      authUrl: orghubUrl,
      wsUrl: `${chatUrl.replace(/^http/, 'ws')}/ws`,
      tenantId: SEED.tenantId,
      login: { email: SEED.adminEmail, password: SEED.adminPassword },
      dbmanNodes: nodes.map((n, i) => ({
        name: n.name,
        url: n.url,
        faults: {
          container: n.container,
          ...(nodeLinks[i]!.toxiproxy ? { toxiproxy: nodeLinks[i]!.toxiproxy } : {}),
          ...(dbLinks[i]!.toxiproxy ? { dbLink: dbLinks[i]!.toxiproxy } : {}),
        },
      })),
      chatInstances: chats.map((c) => ({ name: c.name, url: c.url, faults: { container: c.container } })),
      orghub: { name: 'orghub', url: orghubUrl, faults: { pid: orghub.pid } },
      redis: redisComponent(redis.url, redisLink, redis.proc.pid),
      postgres: postgresComponent(pg.url, pg.proc.pid),
      loadBalancers: lbs.loadBalancers,
      reference: {
        stateDir,
        ...(opts.launcherPid ? { launcherPid: opts.launcherPid } : {}),
        flaws,
        topology: opts.dbmanLb ? 'dbman-lb' : 'client-side',
        postgres: { url: pg.url, pid: pg.proc.pid },
        redis: { url: redis.url, pid: redis.proc.pid },
        stackId,
        processes: procs,
        logsDir,
        jwtSecret,
        dbmanEndpoints: chatEndpoints,
        serviceEnv,
        docker: res,
        ...(links.toxiproxy ? { toxiproxy: { apiUrl: links.toxiproxy.apiUrl, pid: links.toxiproxy.pid } } : {}),
        ...(lbs.haproxy ? { haproxy: lbs.haproxy } : {}),
      },
    });
    writeAtomic(targetFilePath, `${JSON.stringify(target, null, 2)}\n`);
    return { target, targetFilePath, down: () => stopStack(targetFilePath) };
  } catch (err) {
    log(`start failed, removing what was started: ${(err as Error).message}`);
    await removeDockerResources(res).catch(() => undefined);
    await stopProcesses(procs);
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}
