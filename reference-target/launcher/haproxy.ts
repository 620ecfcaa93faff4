/**
 * HAProxy (Debian's `haproxy` package) as the reference stack's load balancers, like the real deployment's:
 *
 * - the chat LB (`chatLb`): one URL in front of every chat instance (REST and the room WebSocket);
 * - the dbman LB (`dbmanLb`, topology `dbman-lb`): the app services' one dbman URL, which health-checks every
 *   node's /health/ready and takes a not-ready node out of traffic.
 *
 * One haproxy process per stack serves both, plus a stats page (CSV with `;csv`). It runs detached in the
 * foreground mode (`-db`, one process, one thread) with the stack's marks, so `stack down` stops it. The settings
 * are documented in target/README.md ("Load balancers").
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHaproxyCsv, type BalancerServer } from '../../chaos/drill/balancer.js';
import { findHaproxy, InfraError } from './infra.js';
import { isAlive, spawnDetached, type ProcRecord } from './procs.js';
import { guardedFetch } from '../../runner/connections.js';

/** One backend server: its name (chat-1, dbman-2, ...) and the host:port the balancer sends to. */
export interface LbServer {
  name: string;
  address: string;
}

export interface LbFrontend {
  /** host:port addresses the balancer listens on (loopback; in docker mode also the network's gateway). */
  binds: string[];
  servers: LbServer[];
}

export interface HaproxyPlan {
  /** host:port of the stats page (loopback). */
  stats: string;
  chat?: LbFrontend;
  dbman?: LbFrontend;
  /** With the chat LB: the session and tenanthub instances behind their own frontends (checked like chat). */
  session?: LbFrontend;
  tenanthub?: LbFrontend;
}

/** Health checks: every 500 ms (100 ms while a state change is pending), 2 failures take a server out, 2 successes bring it back. */
export const CHECK_SETTINGS = 'check inter 500ms fastinter 100ms downinter 500ms fall 2 rise 2';

/** The haproxy.cfg text for a plan. Backend names are `chat`, `dbman`, `session`, `tenanthub` (the stats CSV's `pxname`). */
export function haproxyConfig(plan: HaproxyPlan): string {
  const lines = [
    'global',
    '  nbthread 1',
    '  maxconn 4000',
    // server state changes (and alerts) in the log file, not every request
    '  log stdout format raw local0 notice',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 10s',
    '  timeout check 1s',
    // a request whose connection failed (the server is dead, not yet marked down) goes to another server: safe
    // for every request, as nothing reached the server; never on a response (a write could be stored twice, and
    // a node that answers 5xx must stay visible, e.g. with the ready-lies flaw)
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure',
    '',
    'frontend stats',
    `  bind ${plan.stats}`,
    '  stats enable',
    '  stats uri /stats',
    '  stats refresh 2s',
    '  no log',
  ];
  const section = (name: 'chat' | 'dbman' | 'session' | 'tenanthub', f: LbFrontend, health: string, extra: string[], serverExtra: string) => {
    lines.push('', `frontend ${name}`, ...f.binds.map((b) => `  bind ${b}`), `  default_backend ${name}`);
    lines.push('', `backend ${name}`, '  balance roundrobin', `  option httpchk GET ${health}`, '  http-check expect status 200', ...extra);
    lines.push(`  default-server ${CHECK_SETTINGS}${serverExtra}`);
    for (const s of f.servers) lines.push(`  server ${s.name} ${s.address}`);
  };
  // WebSocket tunnels stay open for a whole drill; when an instance is marked down its tunnels are closed, so
  // clients reconnect (to a live instance) instead of waiting on a frozen one
  if (plan.chat) section('chat', plan.chat, '/health', ['  timeout tunnel 1h'], ' on-marked-down shutdown-sessions');
  // a 5xx seen in traffic makes the balancer check that node at once (fastinter) instead of at the next interval;
  // the check alone still decides, so a node whose readiness lies (200) stays in traffic
  if (plan.dbman) section('dbman', plan.dbman, '/health/ready', ['  timeout server 10s'], ' observe layer7 error-limit 1 on-error fastinter');
  if (plan.session) section('session', plan.session, '/health', [], '');
  if (plan.tenanthub) section('tenanthub', plan.tenanthub, '/health', [], '');
  return `${lines.join('\n')}\n`;
}

export interface StartedHaproxy {
  proc: ProcRecord;
  configPath: string;
  /** The stats page (HTML); `${statsUrl};csv` is the CSV. */
  statsUrl: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes `<stateDir>/haproxy.cfg`, checks it (`haproxy -c`), starts haproxy detached (log `<stateDir>/logs/haproxy.log`)
 * and waits until every server of the plan is UP on the stats page. Throws InfraError when haproxy is missing
 * (after trying apt-get as root) or the config is refused; Error when the servers do not come up in time.
 */
export async function startHaproxy(
  stateDir: string,
  plan: HaproxyPlan,
  log: (l: string) => void,
  env: NodeJS.ProcessEnv,
  procs: ProcRecord[],
  timeoutMs = 20_000,
): Promise<StartedHaproxy> {
  const bin = findHaproxy(log);
  const configPath = join(stateDir, 'haproxy.cfg');
  writeFileSync(configPath, haproxyConfig(plan));
  const check = spawnSync(bin, ['-c', '-q', '-f', configPath], { encoding: 'utf8', timeout: 10_000 });
  if (check.status !== 0) throw new InfraError(`haproxy refused ${configPath}: ${`${check.stderr}${check.stdout}`.trim().split('\n').find((l) => /ALERT/.test(l)) ?? `exit ${check.status}`}`);
  const logFile = join(stateDir, 'logs', 'haproxy.log');
  const proc = spawnDetached('haproxy', bin, ['-db', '-f', configPath], { env, logFile });
  procs.push(proc);
  const statsUrl = `http://${plan.stats}/stats`;
  const want = (['chat', 'dbman', 'session', 'tenanthub'] as const).flatMap((b) => (plan[b]?.servers ?? []).map((s) => `${b}/${s.name}`));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (!isAlive(proc)) throw new Error(`haproxy exited while starting (log ${logFile})`);
    try {
      const states = await haproxyServerStates(statsUrl);
      const down = want.filter((w) => states.find((s) => `${s.backend}/${s.server}` === w)?.status !== 'UP');
      if (down.length === 0) break;
      last = `not UP yet: ${down.join(', ')}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`haproxy: backends not UP after ${timeoutMs} ms (${last}; log ${logFile})`);
    await sleep(100);
  }
  return { proc, configPath, statsUrl };
}

/** One backend server as the stats page reports it: backend `chat` or `dbman`, server chat-1/dbman-2/..., status, sessions. */
export type ServerState = BalancerServer;

/** Every backend server's state from a HAProxy stats page (`<statsUrl>;csv`). */
export async function haproxyServerStates(statsUrl: string): Promise<ServerState[]> {
  const res = await guardedFetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200) throw new Error(`haproxy stats ${statsUrl}: HTTP ${res.status}`);
  return parseHaproxyCsv(await res.text());
}
