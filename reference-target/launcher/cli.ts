/**
 * `npm run stack -- up|status|down`: the reference target on this machine (or as Docker containers). The flag
 * table below makes both the parser and --help.
 */
import { existsSync } from 'node:fs';
import { commandOf, helpText, HELP_FLAG, parseCommandLine, type CommandSpec } from '../../runner/cli-flags.js';
import { isUsageError, UsageError } from '../../runner/usage-error.js';
import { dockerHostRefusal } from '../../runner/connections.js';
import { FLAW_NAMES, parseFlaws } from '../flaws.js';
import { DockerEngineError } from './docker-engine.js';
import { startDockerStack } from './docker-stack.js';
import { InfraError } from './infra.js';
import { isAlive, type ProcRecord } from './procs.js';
import { registryDir } from './registry.js';
import { DEFAULT_TARGET_FILE, stackStatus, startStack, stopAllStacks, stopStack } from './stack.js';

export const STACK_COMMAND: CommandSpec = {
  invocation: 'npm run stack --',
  usage: ['up [--foreground] [--docker] [--proxy] [--lb] [--dbman-lb] [--redis-sentinel] [--flaws a,b] [--target-file <file>]', 'status [--target-file <file>]', 'down [--target-file <file>]'],
  about: `The reference target: PostgreSQL, Redis, 3 dbman nodes, 2 chat instances, orghub, session and tenanthub on free loopback ports
(with --docker: dbman and chat as containers), described by a target file the smoke, drills and chaos read.
down without --target-file stops EVERY stack this checkout started: npm run stack -- up, and the smoke's and
the drill's own (also one whose smoke or drill was killed with SIGKILL, even while it was starting); with
--target-file, only that one. A process is signalled only while it is the one the suite started (its pid,
start time and program from /proc).`,
  commands: [
    { name: 'up', help: 'start a stack and write its target file (returns when every health check passed, unless --foreground)' },
    { name: 'status', help: "each component's process and health" },
    { name: 'down', help: 'stop every stack this checkout started (or the one --target-file names), remove its state folder and target file' },
  ],
  flags: [
    { name: 'target-file', type: 'string', value: '<file>', help: 'the target file to write (up) or read (status, down)', default: '$TARGET_FILE or .state/target.json' },
    { name: 'foreground', type: 'boolean', help: 'up: stay in the foreground; Ctrl-C stops everything' },
    { name: 'docker', type: 'boolean', help: 'up: dbman nodes and chat instances as Docker containers' },
    { name: 'proxy', type: 'boolean', help: "up: Toxiproxy proxies in front of every dbman node, on every node's PostgreSQL link and in front of Redis" },
    { name: 'lb', type: 'boolean', help: "up: HAProxy in front of the chat instances (the target file's chatUrl and wsUrl point at it), and two\nsession and two tenanthub instances behind balancers of their own (sessionUrl, tenanthubUrl)" },
    { name: 'dbman-lb', type: 'boolean', help: "up: the dbman-lb topology: the app services get one dbman URL, HAProxy checking every node's /health/ready" },
    { name: 'redis-sentinel', type: 'boolean', help: 'up: a Redis replica and three sentinels (Debian\'s redis-sentinel) beside the primary; chat connects\nthrough Sentinel (down-after 1000 ms, failover-timeout 5000 ms); not with --docker' },
    { name: 'flaws', type: 'string', value: '<a,b>', help: `up: switch flaws on: ${FLAW_NAMES.join(', ')};\nname@service scopes one to a service, e.g. single-endpoint@session`, default: '$TARGET_FLAWS' },
    HELP_FLAG,
  ],
  environment: ['TARGET_FILE     the target file when --target-file is not given', 'TARGET_FLAWS    flaws when --flaws is not given', 'STACK_REGISTRY  where the stacks of this checkout are registered (default .state/stacks)', 'DOCKER_HOST     the Docker engine for --docker (a unix socket or loopback)'],
  exitCodes: [[0, 'done'], [1, 'a component is unhealthy (status) or starting failed'], [2, 'bad usage or configuration (nothing started)']],
  examples: ['npm run stack -- up', 'npm run stack -- up --proxy --lb --flaws ready-lies', 'npm run stack -- status', 'npm run stack -- down'],
};
const UP_ONLY = ['foreground', 'docker', 'proxy', 'lb', 'dbman-lb', 'redis-sentinel', 'flaws'] as const;

function fail(code: number, msg: string): never {
  process.stderr.write(`stack: ${msg.replace(/\s+/g, ' ').trim()}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(STACK_COMMAND, process.argv.slice(2), { positionals: true });
    if (parsed.values.help) {
      process.stdout.write(`${helpText(STACK_COMMAND)}\n`);
      return;
    }
    const cmd = commandOf(STACK_COMMAND, parsed.positionals);
    if (parsed.positionals.length > 1) throw new UsageError(parsed.positionals[1]!, `${parsed.positionals[1]}: unexpected argument after ${cmd}`);
    if (cmd !== 'up') {
      const wrong = UP_ONLY.find((k) => parsed!.values[k] !== undefined && parsed!.values[k] !== false);
      if (wrong) throw new UsageError(`--${wrong}`, `--${wrong}: only with "up", not with "${cmd}"`);
    }
    if (cmd === 'up' && parsed.values.docker) {
      const why = dockerHostRefusal();
      if (why) throw new UsageError('DOCKER_HOST', why);
    }
  } catch (err) {
    if (isUsageError(err)) fail(2, err.message);
    throw err;
  }
  const values = parsed.values as Record<string, string | boolean | undefined> & { proxy?: boolean; lb?: boolean; 'dbman-lb'?: boolean; foreground?: boolean; docker?: boolean; flaws?: string; 'target-file'?: string };
  const cmd = parsed.positionals[0]!;
  const targetFile = values['target-file'] ?? process.env['TARGET_FILE'] ?? DEFAULT_TARGET_FILE;
  const log = (l: string) => process.stdout.write(`stack: ${l}\n`);

  if (cmd === 'up') {
    let flaws: string[];
    try {
      flaws = parseFlaws(values.flaws ?? process.env['TARGET_FLAWS']);
    } catch (err) {
      fail(2, `${values.flaws !== undefined ? '--flaws' : 'TARGET_FLAWS'}: ${(err as Error).message.replace(/^TARGET_FLAWS: /, '')}`);
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
        redisSentinel: values['redis-sentinel'] === true,
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
    const one = values['target-file'] ?? process.env['TARGET_FILE'];
    if (one !== undefined) {
      if (!existsSync(one)) {
        log(`nothing to stop: no target file at ${one}`);
        return;
      }
      try {
        await stopStack(one);
      } catch (err) {
        fail(2, (err as Error).message);
      }
      log(`down: ${one}: everything stopped, state folder and target file removed`);
      return;
    }
    const done = await stopAllStacks(log);
    if (done.length === 0) {
      const hint = existsSync(DEFAULT_TARGET_FILE) ? `; ${DEFAULT_TARGET_FILE} is not registered: npm run stack -- down --target-file ${DEFAULT_TARGET_FILE}` : '';
      log(`nothing to stop: no stack of this checkout is registered (${registryDir()})${hint}`);
    }
    for (const d of done) log(`down: ${d}: everything stopped, state folder and target file removed`);
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
