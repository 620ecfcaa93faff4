/**
 * The Docker engine and the reference target's image, for `stack up --docker` and tests/docker.
 *
 * ensureDockerEngine(): `docker info` works → done. Otherwise, as root on Debian: `apt-get install -y docker.io`
 * (`apt-get update` first when the package is not found) when dockerd is missing, then `dockerd
 * --storage-driver=vfs` in the background (log in .state/dockerd.log) and wait for the socket. Anything else: a
 * one-line DockerEngineError saying what to do.
 *
 * ensureTargetImage(): there is no registry, so the image is `docker import` of a root filesystem assembled here:
 * the running node binary, the shared libraries `ldd` lists for it (and the dynamic loader), /etc/{passwd,group,
 * hosts,nsswitch.conf}, and dist/target/*.mjs + migrations under /app. The tag carries a hash of all of that, so
 * the image is rebuilt only when the bundle (or node) changed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DIST_DIR, REPO_ROOT } from './build.js';

export class DockerEngineError extends Error {}

export const IMAGE_REPO = 'dbman-target';
export const DOCKERD_LOG = join(REPO_ROOT, '.state', 'dockerd.log');
/** The pid of the dockerd this project started (so that the test run that started it can stop it again). */
export const DOCKERD_PID_FILE = join(REPO_ROOT, '.state', 'dockerd.pid');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function dockerInfoOk(): boolean {
  return spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
}

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function isDebianRoot(): boolean {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version') && onPath('apt-get');
}

function apt(args: string[]): void {
  const r = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
  if (r.status !== 0) throw new DockerEngineError(`apt-get ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
}

/** What ensureDockerEngine did: nothing (an engine answered), or started dockerd (its pid). */
export interface EngineInfo {
  startedPid?: number;
  installed: boolean;
}

/** Makes `docker info` work, installing and starting the engine when allowed (see the module comment). */
export async function ensureDockerEngine(log: (l: string) => void = () => undefined): Promise<EngineInfo> {
  if (dockerInfoOk()) return { installed: false };
  if (!isDebianRoot()) {
    throw new DockerEngineError('docker: no Docker engine answers (`docker info` failed); start one, or run as root on Debian so the set-up installs docker.io and starts dockerd');
  }
  let installed = false;
  if (!onPath('dockerd') || !onPath('docker')) {
    log('docker: installing docker.io with apt-get');
    try {
      apt(['install', '-y', 'docker.io']);
    } catch {
      apt(['update']);
      apt(['install', '-y', 'docker.io']);
    }
    installed = true;
  }
  mkdirSync(dirname(DOCKERD_LOG), { recursive: true });
  const fd = openSync(DOCKERD_LOG, 'a');
  const child = spawn('dockerd', ['--storage-driver=vfs'], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.on('error', () => undefined);
  child.unref();
  if (child.pid) writeFileSync(DOCKERD_PID_FILE, `${child.pid}\n`);
  log(`docker: started dockerd --storage-driver=vfs (pid ${child.pid}, log ${DOCKERD_LOG})`);
  const deadline = Date.now() + 60_000;
  while (!dockerInfoOk()) {
    if (child.exitCode !== null) {
      throw new DockerEngineError(`docker: dockerd exited with ${child.exitCode}: ${readFileSync(DOCKERD_LOG, 'utf8').trim().split('\n').pop()}`);
    }
    if (Date.now() > deadline) throw new DockerEngineError(`docker: dockerd did not answer within 60 s (log ${DOCKERD_LOG})`);
    await sleep(250);
  }
  return { startedPid: child.pid, installed };
}

/**
 * Stops the dockerd that ensureDockerEngine started (DOCKERD_PID_FILE), if it still runs: SIGTERM, which also
 * stops the containerd it manages, then wait up to `waitMs`. Returns what it did, for the log.
 */
export async function stopStartedDockerd(waitMs = 30_000): Promise<string> {
  if (!existsSync(DOCKERD_PID_FILE)) return 'no dockerd started by the suite';
  const pid = Number(readFileSync(DOCKERD_PID_FILE, 'utf8').trim());
  rmSync(DOCKERD_PID_FILE, { force: true });
  const isDockerd = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.endsWith('dockerd');
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid <= 0 || !isDockerd()) return `dockerd ${pid} already gone`;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + waitMs;
  while (isDockerd() && Date.now() < deadline) await sleep(200);
  if (isDockerd()) return `dockerd ${pid} still running ${waitMs} ms after SIGTERM`;
  return `stopped dockerd ${pid}`;
}

/** The node binary and every shared library it needs (ldd), with the dynamic loader. */
function nodeFiles(): string[] {
  const node = process.execPath;
  const out = new Set<string>([node]);
  const ldd = execFileSync('ldd', [node], { encoding: 'utf8' });
  for (const line of ldd.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

function distFiles(): string[] {
  const files = readdirSync(DIST_DIR)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => join(DIST_DIR, f));
  const mig = join(DIST_DIR, 'migrations');
  if (existsSync(mig)) for (const f of readdirSync(mig).filter((x) => x.endsWith('.sql')).sort()) files.push(join(mig, f));
  return files.sort();
}

/** Content hash of everything that goes into the image. */
export function imageTag(): string {
  const h = createHash('sha256');
  for (const f of [...nodeFiles(), ...distFiles()]) {
    h.update(f);
    h.update(readFileSync(f));
  }
  return `${IMAGE_REPO}:${h.digest('hex').slice(0, 16)}`;
}

function imageExists(ref: string): boolean {
  return spawnSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' }).status === 0;
}

/**
 * The image `dbman-target:<hash>` with node at /usr/local/bin/node and the bundles under /app (build the bundles
 * first: buildServices()). Built with `docker import` only when no image has this tag yet.
 */
export function ensureTargetImage(log: (l: string) => void = () => undefined): string {
  if (!existsSync(join(DIST_DIR, 'dbman.mjs'))) throw new Error(`no bundles in ${DIST_DIR}: run buildServices() first`);
  const tag = imageTag();
  if (imageExists(tag)) return tag;
  const root = mkdtempSync(join(tmpdir(), 'dbman-rootfs-'));
  try {
    const put = (src: string, dest: string) => {
      mkdirSync(dirname(join(root, dest)), { recursive: true });
      copyFileSync(src, join(root, dest));
    };
    for (const f of nodeFiles()) put(f, f === process.execPath ? '/usr/local/bin/node' : f);
    for (const f of distFiles()) put(f, join('/app', f.slice(DIST_DIR.length)));
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    const r = spawnSync(
      'sh',
      [
        '-c',
        `tar -C "$1" -c . | docker import --change 'ENV PATH=/usr/local/bin' --change 'WORKDIR /app' --change 'ENTRYPOINT ["/usr/local/bin/node"]' - "$2"`,
        'sh',
        root,
        tag,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    if (r.status !== 0) throw new Error(`docker import failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    log(`docker: built image ${tag} from a ${nodeFiles().length}-file node root filesystem and the bundles`);
    return tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** What a docker-mode stack created, recorded in the target file's `reference.docker`, removed by `stack down`. */
export interface DockerResources {
  network: string;
  containers: string[];
  image?: string;
}

/** Removes the containers (unpaused first, then forced) and the network; each one that is already gone is skipped. */
export async function removeDockerResources(res: DockerResources | undefined): Promise<void> {
  if (!res) return;
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  await Promise.all(
    res.containers.map(async (name) => {
      const c = docker.getContainer(name);
      await c.unpause().catch(() => undefined);
      await c.remove({ force: true, v: true }).catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    }),
  );
  await docker
    .getNetwork(res.network)
    .remove()
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
}
