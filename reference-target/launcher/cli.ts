/**
 * npm run stack -- up [--foreground] [--docker] [--proxy] [--lb] [--dbman-lb] [--redis-sentinel] [--flaws a,b] [--target-file PATH]
 * npm run stack -- status [--target-file PATH]
 * npm run stack -- down [--target-file PATH]
 *
 * Exit codes: 0 ok, 1 a component is unhealthy (status) or starting failed, 2 bad usage or configuration.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseFlaws } from '../flaws.js';
import { DockerEngineError } from './docker-engine.js';
import { startDockerStack } from './docker-stack.js';
import { InfraError } from './infra.js';
import { isAlive, type ProcRecord } from './procs.js';
import { DEFAULT_TARGET_FILE, stackStatus, startStack, stopStack } from './stack.js';

const USAGE = `usage: npm run stack -- up [--foreground] [--docker] [--proxy] [--lb] [--dbman-lb] [--redis-sentinel] [--flaws a,b] [--target-file PATH]
       npm run stack -- status [--target-file PATH]
       npm run stack -- down [--target-file PATH]
  --docker     dbman nodes and chat instances as Docker containers
  --proxy      Toxiproxy proxies in front of every dbman node, on every node's PostgreSQL link and in front of Redis
  --lb         HAProxy in front of the chat instances (the target file's chatUrl and wsUrl point at it), and two
               session and two tenanthub instances behind balancers of their own (sessionUrl, tenanthubUrl)
  --dbman-lb   the dbman-lb topology: the app services get one dbman URL, HAProxy checking every node's /health/ready
  --redis-sentinel  a Redis replica and three sentinels (Debian's redis-sentinel) beside the primary; chat connects
               through Sentinel (down-after 1000 ms, failover-timeout 5000 ms); not with --docker
  --flaws a,b  switch flaws on (default: TARGET_FLAWS); name@service scopes one to a service, e.g. single-endpoint@session`;
const UP_ONLY = ['foreground', 'docker', 'proxy', 'lb', 'dbman-lb', 'redis-sentinel', 'flaws'] as const;

function fail(code: number, msg: string): never {
  process.stderr.write(`stack: ${msg}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        foreground: { type: 'boolean', default: false },
        proxy: { type: 'boolean', default: false },
        docker: { type: 'boolean', default: false },
        lb: { type: 'boolean', default: false },
        'dbman-lb': { type: 'boolean', default: false },
        'redis-sentinel': { type: 'boolean', default: false },
        flaws: { type: 'string' },
        'target-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    fail(2, `${(err as Error).message} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cmd = positionals[0];
  if (positionals.length !== 1 || !['up', 'status', 'down'].includes(cmd ?? '')) fail(2, `give one command: up, status or down (see --help)`);
  if (cmd !== 'up') {
    const wrong = UP_ONLY.find((k) => values[k] !== undefined && values[k] !== false);
    if (wrong) fail(2, `--${wrong}: only with "up", not with "${cmd}"`);
  }
  const targetFile = values['target-file'] ?? process.env['TARGET_FILE'] ?? DEFAULT_TARGET_FILE;
  const log = (l: string) => process.stdout.write(`stack: ${l}\n`);

  if (cmd === 'up') {
    let flaws: string[];
    try {
      flaws = parseFlaws(values.flaws ?? process.env['TARGET_FLAWS']);
    } catch (err) {
      fail(2, (err as Error).message);
    }
    if (values.docker && values['redis-sentinel']) fail(2, '--redis-sentinel: not with --docker (allowed: the local stack, whose sentinels name loopback addresses)');
    let stack;
    try {
      const start = values.docker ? startDockerStack : startStack;
      stack = await start({
        flaws,
        targetFilePath: targetFile,
        log,
        launcherPid: values.foreground ? process.pid : undefined,
        proxy: values.proxy,
        chatLb: values.lb,
        dbmanLb: values['dbman-lb'],
        redisSentinel: values['redis-sentinel'],
      });
    } catch (err) {
      if (err instanceof InfraError || err instanceof DockerEngineError || /already running|TARGET_FLAW/.test((err as Error).message)) fail(2, (err as Error).message);
      fail(1, `up failed: ${(err as Error).message}`);
    }
    log(`up: every health check passed${flaws.length ? ` (flaws: ${flaws.join(',')})` : ''}`);
    log(`chat ${stack.target.chatUrl}  ws ${stack.target.wsUrl}  orghub ${stack.target.authUrl}  session ${stack.target.sessionUrl}  tenanthub ${stack.target.tenanthubUrl}`);
    for (const lb of stack.target.loadBalancers) log(`${lb.name} ${lb.url} (in front of ${lb.fronts}; stats ${lb.statsUrl})`);
    process.stdout.write(`${stack.targetFilePath}\n`);
    if (!values.foreground) return;
    log('running in the foreground: Ctrl-C stops everything');
    await new Promise<void>((resolve) => {
      let stopping = false;
      // Keeps the process alive (signal handlers alone do not) and says when a component's process is gone.
      const reported = new Set<string>();
      const monitor = setInterval(() => {
        for (const p of (stack.target.reference?.['processes'] as ProcRecord[] | undefined) ?? []) {
          if (!reported.has(p.name) && !isAlive(p)) {
            reported.add(p.name);
            log(`${p.name} (pid ${p.pid}) is not running any more`);
          }
        }
      }, 1000);
      const stop = () => {
        if (stopping) return;
        stopping = true;
        clearInterval(monitor);
        log('stopping ...');
        // `stack down` from elsewhere may have stopped everything already (it signals this process too).
        const down = existsSync(stack.targetFilePath) ? stack.down() : Promise.resolve();
        down
          .then(() => log('down: everything stopped, state folder removed'))
          .catch((err: Error) => process.stderr.write(`stack: down failed: ${err.message}\n`))
          .finally(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.on('SIGHUP', stop);
    });
    return;
  }

  if (cmd === 'down') {
    if (!existsSync(targetFile)) {
      log(`nothing to stop: no target file at ${targetFile}`);
      return;
    }
    try {
      await stopStack(targetFile);
    } catch (err) {
      fail(2, (err as Error).message);
    }
    log('down: everything stopped, state folder and target file removed');
    return;
  }

  if (!existsSync(targetFile)) fail(1, `no stack: no target file at ${targetFile}`);
  let status;
  try {
    status = await stackStatus(targetFile);
  } catch (err) {
    fail(2, (err as Error).message);
  }
  for (const s of status) {
    process.stdout.write(
      `${s.name.padEnd(10)} ${(s.healthy ? 'healthy' : 'UNHEALTHY').padEnd(10)} pid ${String(s.pid ?? '-').padEnd(8)} ${s.running ? 'running' : 'NOT RUNNING'}  ${s.url}  ${s.detail}\n`,
    );
  }
  if (status.some((s) => !s.healthy)) process.exitCode = 1;
}

main().catch((err: unknown) => fail(1, (err as Error).message));
