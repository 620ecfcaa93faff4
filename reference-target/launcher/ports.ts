/**
 * Free loopback ports for a stack's servers, which bind them seconds later. Two things could take such a port
 * meanwhile: anything that binds port 0 or connects out (a Toxiproxy proxy, a k6 connection's source port) gets
 * a port from the kernel's ephemeral range, and a later call here could hand the same port out again. So the
 * ports come from below the ephemeral range, each checked free by listening on it, and this process does not hand
 * one out twice within ten minutes. (Another process picking the same port stays possible: a service start checks
 * who answers, service.ts and infra.ts.)
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Each port handed out, with when: not handed out again for `HOLD_MS` (its server has bound it, or never will). */
const handedOut = new Map<number, number>();
const HOLD_MS = 10 * 60_000;

function isHeld(port: number): boolean {
  const at = handedOut.get(port);
  return at !== undefined && Date.now() - at < HOLD_MS;
}

/** The lowest port below which the pool starts, and the least pool worth using (else the kernel picks, as before). */
const POOL_LOW = 10_000;
const MIN_POOL = 2_000;

/** The kernel's ephemeral range (`ip_local_port_range`); Linux's default when it cannot be read. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    /* not Linux, or no /proc */
  }
  return [32768, 60999];
}

function listenOn(port: number, host: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    s.listen(port, host, () => resolve(s));
  });
}

/** One free port not handed out in the last ten minutes: from the pool below the ephemeral range, or the kernel's when the pool is too small. */
async function onePort(host: string, poolHigh: number): Promise<net.Server> {
  const usePool = poolHigh - POOL_LOW >= MIN_POOL;
  for (let attempt = 0; attempt < 500; attempt++) {
    const candidate = usePool ? POOL_LOW + Math.floor(Math.random() * (poolHigh - POOL_LOW + 1)) : 0;
    if (isHeld(candidate)) continue;
    const s = await listenOn(candidate, host);
    if (!s) continue;
    const port = (s.address() as net.AddressInfo).port;
    if (!isHeld(port)) return s;
    await new Promise<void>((r) => s.close(() => r()));
  }
  throw new Error(`no free port on ${host} after 500 tries`);
}

/** `count` free ports on `host`; `range` is the kernel's ephemeral range (read from the kernel unless given). */
export async function freePorts(count: number, host = '127.0.0.1', range: [number, number] = ephemeralRange()): Promise<number[]> {
  const poolHigh = range[0] - 1;
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = await onePort(host, poolHigh);
      servers.push(s);
      const port = (s.address() as net.AddressInfo).port;
      handedOut.set(port, Date.now());
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** A start whose port was taken between the pick and the bind: another server answers there, or the bind failed. */
export class PortTakenError extends Error {}

/**
 * Runs `start(port)`, and while it throws PortTakenError, again on a fresh port, `attempts` tries in all; the last
 * PortTakenError says how many. Returns the started value and the port it listens on.
 */
export async function onFreePort<T>(port: number, attempts: number, log: (l: string) => void, start: (port: number) => Promise<T>): Promise<{ started: T; port: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { started: await start(port), port };
    } catch (err) {
      if (!(err instanceof PortTakenError)) throw err;
      if (attempt === attempts) throw new PortTakenError(`${err.message}; port taken on each of ${attempts} tries`);
      const [fresh] = (await freePorts(1)) as [number];
      log(`${err.message}; trying port ${fresh}`);
      port = fresh;
    }
  }
}
