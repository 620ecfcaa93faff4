/**
 * `npm run stack -- up --docker`: the reference stack with its dbman nodes and chat instances as containers
 * (testcontainers, Ryuk off, image built locally by ensureTargetImage) on a user-defined Docker network named after
 * the stack. PostgreSQL and Redis run as in local mode, listening on loopback and on that network's gateway
 * address (pg_hba lets the network's subnet in); orghub, session and tenanthub run as local processes. Every container port is published
 * on 127.0.0.1 only, at a fixed host port (so a restarted container keeps its URL). The chat containers reach the
 * nodes by container name (Docker's DNS); orghub reaches them through the published ports. The target file gets
 * `faults.container` per node and chat instance and `reference.docker` = {network, containers, image}, which
 * `stopStack` removes. With `proxy`, `chatLb`, `dbmanLb` (reference-target/launcher/links.ts) toxiproxy-server and haproxy
 * run on the host, bound to 127.0.0.1 and the network's gateway only (reference-target/README.md, "Docker mode").
 * The services are the local stack's (`dbman-node.ts`, `chat-instance.ts`, `orghub.ts`, `msa-services.ts`), run by
 * `service-container.ts: containerRunner` (orghub, session and tenanthub by `service.ts: processRunner`).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { hostPortOf } from '../../chaos/toxiproxy/server.js';
import { migrate, seed } from '../db/migrate.js';
import { buildServices } from './build.js';
import { startChatInstance } from './chat-instance.js';
import { startDbmanNode } from './dbman-node.js';
import { ensureDockerEngine, ensureTargetImage, removeDockerResources, type DockerResources } from './docker-engine.js';
import { balancerPorts, dbmanLbUrl, startBalancers, StackLinks, type LinkAddress, type StackContext } from './links.js';
import { startOrghub } from './orghub.js';
import { lbServers, msaInstanceCount, msaTargetFields, startMsaServices } from './msa-services.js';
import { freePorts } from './ports.js';
import { COMPONENT_VAR, STACK_ID_VAR, stopProcesses, type ProcRecord } from './procs.js';
import { unregisterStack } from './registry.js';
import { processRunner, serviceProcessEnv } from './service.js';
import { containerRunner } from './service-container.js';
import { beginStart, serviceEnvOf, startInfra, stopStack, writeAtomic, type RunningStack, type StackOptions } from './stack.js';
import { InfraError } from './infra.js';
import { describeStack, redisComponent } from './target-description.js';

/** Like Promise.all, but waits for every start to settle first, so cleanup never races a container still starting. */
async function allStarted<T>(starts: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The stack's user-defined bridge network, named after the stack; its IPv4 gateway and subnet. */
async function createStackNetwork(docker: Dockerode, stackId: string): Promise<{ gateway: string; subnet: string }> {
  const net = await docker.createNetwork({ Name: stackId, Driver: 'bridge', Labels: { 'dbman-target.stack': stackId } });
  const ipam = (await net.inspect()).IPAM?.Config?.[0] as { Gateway?: string; Subnet?: string } | undefined;
  if (!ipam?.Gateway || !ipam.Subnet) throw new Error(`docker network ${stackId} has no IPv4 gateway/subnet`);
  return { gateway: ipam.Gateway, subnet: ipam.Subnet };
}

/** Starts the docker-mode stack; on any failure removes what it created and throws. */
export async function startDockerStack(opts: StackOptions = {}): Promise<RunningStack> {
  if (opts.redisSentinel) throw new InfraError('--redis-sentinel: not with --docker (allowed: the local stack, whose sentinels name loopback addresses)');
  await ensureDockerEngine(opts.log);
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const { log, flaws, targetFilePath, nDbman, nChat, stateDir, logsDir, stackId } = beginStart(opts);
  const res: DockerResources = { network: stackId, containers: [] };
  const procs: ProcRecord[] = [];
  const mark = (component: string) => ({ [STACK_ID_VAR]: stackId, [COMPONENT_VAR]: component });

  try {
    log(`state folder ${stateDir}`);
    await buildServices();
    const image = ensureTargetImage(log);
    res.image = image;
    const { gateway: gw, subnet } = await createStackNetwork(docker, stackId);
    log(`docker network ${stackId} (${subnet}, gateway ${gw}); image ${image}`);

    const nMsa = msaInstanceCount(opts);
    const [pickedPg, pickedRedis, ...appPorts] = (await freePorts(2 + nDbman + nChat + 1 + 2 * nMsa)) as [number, number, ...number[]];
    const [pg, redis] = await startInfra(stateDir, pickedPg, pickedRedis, log, mark, procs, { hosts: ['127.0.0.1', gw], allowCidr: subnet });
    const [pgPort, redisPort] = [pg.port, redis.port];
    log(`postgres and redis on 127.0.0.1 and ${gw} (ports ${pgPort}, ${redisPort})`);

    const serviceEnv = serviceEnvOf(opts);
    const jwtSecret = randomBytes(24).toString('hex');
    await migrate(pg.url);
    await seed(pg.url, Number(serviceEnv['BCRYPT_COST'] ?? 10));

    const containerEnv = { ...serviceEnv, TARGET_FLAWS: flaws.join(','), NODE_ENV: 'production', HOST: '0.0.0.0' };
    const runContainer = await containerRunner({ image, stackId, res, env: containerEnv, mark });
    // proxies (when on) listen on the network's gateway, so the containers and the host's processes both reach them;
    // they forward to loopback addresses (PostgreSQL, Redis, the containers' published ports)
    const ctx: StackContext = { stateDir, logsDir, procs, log, mark };
    const links = await StackLinks.start(ctx, !!opts.proxy, gw);
    const redisLink = await links.link('redis', `127.0.0.1:${redisPort}`, `${gw}:${redisPort}`);
    const dbLinks: LinkAddress[] = [];
    for (let i = 0; i < nDbman; i++) dbLinks.push(await links.link(`dbman-${i + 1}-db`, `127.0.0.1:${pgPort}`, `${gw}:${pgPort}`));
    const nodes = await allStarted(
      dbLinks.map((dbLink, i) =>
        startDbmanNode(runContainer, { index: i, hostPort: appPorts[i]!, databaseUrl: pg.url.replace(`@127.0.0.1:${pgPort}/`, `@${dbLink.address}/`) }),
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
        startChatInstance(runContainer, { index: i, hostPort: appPorts[nDbman + i]!, dbmanEndpoints: chatEndpoints, jwtSecret, redis: redisUrl }),
      ),
    );
    const runProcess = processRunner(ctx, serviceProcessEnv(serviceEnv, flaws));
    const orghub = await startOrghub(runProcess, { hostPort: appPorts[nDbman + nChat]!, dbmanEndpoints: orghubEndpoints, jwtSecret });
    // session and tenanthub: host processes reaching the nodes as orghub does
    const msa = await startMsaServices(runProcess, { ports: appPorts.slice(nDbman + nChat + 1), count: nMsa, dbmanEndpoints: orghubEndpoints, jwtSecret });
    log(`chat containers ready: ${chats.map((c) => `${c.container} ${c.url}`).join(', ')}; orghub ready: ${orghub.url}`);
    log(`session and tenanthub ready: ${[...msa.session, ...msa.tenanthub].map((a) => `${a.name} ${a.url}`).join(', ')}`);

    // HAProxy on the host: the chat LB on loopback in front of the chat containers' published ports; the dbman LB
    // on the gateway (the chat containers reach it there) in front of the nodes' proxies or published ports
    const lbs = await startBalancers(ctx, opts, {
      ports: lbPorts,
      dbmanHost: gw,
      chatServers: chats.map((c) => ({ name: c.name, address: hostPortOf(c.url) })),
      dbmanServers: nodes.map((n, i) => ({ name: n.name, address: links.toxiproxy ? nodeLinks[i]!.address : hostPortOf(n.url) })),
      sessionServers: lbServers(msa.session),
      tenanthubServers: lbServers(msa.tenanthub),
    });

    const target = describeStack({
      mode: 'docker',
      flaws,
      opts,
      stateDir,
      nodes: nodes.map((n, i) => ({
        name: n.name,
        url: n.url,
        faults: {
          container: n.container,
          ...(nodeLinks[i]!.toxiproxy ? { toxiproxy: nodeLinks[i]!.toxiproxy } : {}),
          ...(dbLinks[i]!.toxiproxy ? { dbLink: dbLinks[i]!.toxiproxy } : {}),
        },
      })),
      chats: chats.map((c) => ({ name: c.name, url: c.url, faults: { container: c.container } })),
      orghub: { url: orghub.url, pid: orghub.proc.pid },
      msa: msaTargetFields(msa, lbs, (a) => ({ pid: a.proc.pid })),
      redis: redisComponent(redis.url, redisLink, redis.proc.pid),
      balancers: lbs,
      postgresInfra: pg,
      redisInfra: redis,
      extra: {
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
    writeAtomic(join(stateDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
    return { target, targetFilePath, down: () => stopStack(targetFilePath) };
  } catch (err) {
    log(`start failed, removing what was started: ${(err as Error).message}`);
    await removeDockerResources(res).catch(() => undefined);
    await stopProcesses(procs);
    rmSync(stateDir, { recursive: true, force: true });
    unregisterStack(stackId);
    throw err;
  }
}
