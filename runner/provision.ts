/**
 * Provisioning of the Go-built tools the suite runs: k6 and toxiproxy-server, pinned, built with `go install`
 * from the Go module proxy into the gitignored project-local `.tools/bin/`. A tool that is there at the pinned
 * version is used as it is; a missing one, or one of another version, is built again. Builds go to a private
 * temporary GOBIN first and are moved into place with one rename, so a concurrent or killed build never leaves
 * a half-written binary behind.
 */
import { execFile, spawn } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { progress, type LogFn } from './log.js';
import { toolsBin } from './paths.js';

const execFileP = promisify(execFile);

export interface GoTool {
  /** File name in the tools folder. */
  name: string;
  /** Go package path that `go install` builds. */
  pkg: string;
  /** Pinned module version, with the leading v. */
  version: string;
  /** The name `go install` gives the binary (last element of the package path). */
  builtName: string;
  /** Reads the version of an installed binary; undefined when it does not run or says nothing usable. */
  installedVersion(path: string): Promise<string | undefined>;
}

/** The k6 line the suite is written against; `@types/k6` 1.7.x in package.json is the matching types line. */
export const K6_VERSION = 'v1.8.1';
export const TOXIPROXY_VERSION = 'v2.12.0';
export const ACTIONLINT_VERSION = 'v1.7.12';

async function run(path: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileP(path, args, { timeout: 20_000 });
    return stdout + stderr;
  } catch {
    return undefined;
  }
}

/** The main module version recorded in a Go binary's build info (`go version -m`), for tools that don't print one. */
async function goModuleVersion(path: string, module: string): Promise<string | undefined> {
  const out = await run('go', ['version', '-m', path]);
  const line = out?.split('\n').find((l) => /^\s*mod\s/.test(l) && l.includes(module));
  return line?.trim().split(/\s+/)[2];
}

export const K6: GoTool = {
  name: 'k6',
  pkg: 'go.k6.io/k6',
  version: K6_VERSION,
  builtName: 'k6',
  // `k6 version` prints e.g. "k6 v1.8.1 (go1.26.8, linux/amd64)".
  async installedVersion(path) {
    return (await run(path, ['version']))?.match(/^k6 (v\d+\.\d+\.\d+\S*)/m)?.[1];
  },
};

export const TOXIPROXY_SERVER: GoTool = {
  name: 'toxiproxy-server',
  pkg: 'github.com/Shopify/toxiproxy/v2/cmd/server',
  version: TOXIPROXY_VERSION,
  builtName: 'server',
  // `go install` builds leave toxiproxy's own version string unset, so the module version comes from build info.
  async installedVersion(path) {
    if ((await run(path, ['--help'])) === undefined) return undefined;
    return goModuleVersion(path, 'github.com/Shopify/toxiproxy/v2');
  },
};

export const ACTIONLINT: GoTool = {
  name: 'actionlint',
  pkg: 'github.com/rhysd/actionlint/cmd/actionlint',
  version: ACTIONLINT_VERSION,
  builtName: 'actionlint',
  async installedVersion(path) {
    return (await run(path, ['-version']))?.match(/^(v\d+\.\d+\.\d+\S*)/m)?.[1];
  },
};

export class ProvisionError extends Error {}

export interface EnsureOptions {
  /** Where the binary lives; default `.tools/bin/` of the project. */
  binDir?: string;
  log?: LogFn;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the path of `tool` at its pinned version, building it with `go install` when it is missing or of
 * another version. Progress goes to `log`.
 */
export async function ensureGoTool(tool: GoTool, opts: EnsureOptions = {}): Promise<string> {
  const binDir = opts.binDir ?? toolsBin;
  const log = opts.log ?? progress('provision');
  const target = join(binDir, tool.name);
  if (await exists(target)) {
    const found = await tool.installedVersion(target);
    if (found === tool.version) {
      log(`${tool.name} ${tool.version} present (${target})`);
      return target;
    }
    log(`${tool.name} at ${target} is ${found ?? 'of an unknown version'}, want ${tool.version}: building again`);
  } else {
    log(`${tool.name} ${tool.version} missing: building it`);
  }
  await build(tool, binDir, log);
  const built = await tool.installedVersion(target);
  if (built !== tool.version) {
    throw new ProvisionError(`${tool.name}: built ${target} reports ${built ?? 'no version'}, want ${tool.version}`);
  }
  return target;
}

async function build(tool: GoTool, binDir: string, log: LogFn): Promise<void> {
  if ((await run('go', ['version'])) === undefined) {
    throw new ProvisionError(
      `go: not found on PATH; Go is needed once to build ${tool.name} ${tool.version} into ${binDir} ` +
        `(or put that binary there yourself)`,
    );
  }
  await mkdir(binDir, { recursive: true });
  const gobin = await mkdtemp(join(binDir, `.build-${tool.name}-`));
  const spec = `${tool.pkg}@${tool.version}`;
  const started = Date.now();
  log(`go install ${spec} (the first build takes a minute or two)`);
  const heartbeat = setInterval(() => log(`still building ${tool.name} (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    await new Promise<string>((resolve, reject) => {
      const child = spawn('go', ['install', '-trimpath', spec], {
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new ProvisionError(`go install ${spec} failed (exit ${code}): ${text.trim().split('\n').slice(-3).join(' | ')}`)),
      );
    });
    await rename(join(gobin, tool.builtName), join(binDir, tool.name));
    log(`built ${tool.name} ${tool.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    clearInterval(heartbeat);
    await rm(gobin, { recursive: true, force: true });
  }
}

/** Path of k6 at the pinned version, built into `.tools/bin/` when needed. */
export function ensureK6(opts: EnsureOptions = {}): Promise<string> {
  return ensureGoTool(K6, opts);
}

/** Path of toxiproxy-server at the pinned version, built into `.tools/bin/toxiproxy-server` when needed. */
export function ensureToxiproxyServer(opts: EnsureOptions = {}): Promise<string> {
  return ensureGoTool(TOXIPROXY_SERVER, opts);
}

/** Path of actionlint (used by the workflow test), built into `.tools/bin/` when needed. */
export function ensureActionlint(opts: EnsureOptions = {}): Promise<string> {
  return ensureGoTool(ACTIONLINT, opts);
}
