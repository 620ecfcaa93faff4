/**
 * Every connection the suite's Node code makes goes through here: the loopback rule (lib/loopback.ts) checked
 * on each URL at the moment it is contacted, `--allow-remote` (set once at the CLI edge) the only way past it,
 * and no redirect followed (a 3xx comes back to the caller as it is, which every caller treats as not ok).
 * Health polls, the drill's probes, Toxiproxy and HAProxy APIs, the integrity read-back and the Docker API
 * (DOCKER_HOST) use it.
 */
import { redactUrls, refusalOf, urlParts } from '../lib/loopback.js';

let remoteAllowed = false;

/** Sets this process's policy: whether hosts outside loopback may be contacted (--allow-remote). */
export function allowRemoteConnections(allow: boolean): void {
  remoteAllowed = allow;
}

export function remoteConnectionsAllowed(): boolean {
  return remoteAllowed;
}

/** A connection the loopback rule refuses: nothing was sent. */
export class ConnectionRefusedByRule extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionRefusedByRule';
  }
}

/** The rule's refusal for a URL (scheme http/https unless given), or undefined when it may be contacted. */
export function connectionRefusal(url: string, schemes: readonly string[] = ['http', 'https']): string | undefined {
  return refusalOf(url, remoteAllowed, schemes);
}

/**
 * fetch() under the loopback rule, redirects not followed. Throws ConnectionRefusedByRule (before anything is
 * sent) for a URL the rule refuses.
 */
export async function guardedFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const text = String(url);
  const why = connectionRefusal(text);
  if (why !== undefined) throw new ConnectionRefusedByRule(`not contacting ${redactUrls(text)}: ${why}`);
  return fetch(text, { ...init, redirect: 'manual' });
}

/** Where a 3xx answer pointed, for a message ("redirect to http://x not followed"); undefined for any other answer. */
export function redirectNotFollowed(res: Response): string | undefined {
  if (res.status < 300 || res.status > 399) return undefined;
  return `answered ${res.status} redirect to ${redactUrls(res.headers.get('location') ?? '(no location)')}, not followed`;
}

/**
 * The Docker Engine API the docker driver and the docker stack would use (DOCKER_HOST): a unix socket is local;
 * tcp:// and http(s):// must be on loopback unless remote connections are allowed; ssh:// only with them.
 */
export function dockerHostRefusal(dockerHost: string | undefined = process.env.DOCKER_HOST): string | undefined {
  if (dockerHost === undefined || dockerHost === '' || dockerHost.startsWith('unix://') || dockerHost.startsWith('/')) return undefined;
  const p = urlParts(dockerHost);
  if (p && (p.scheme === 'tcp' || p.scheme === 'http' || p.scheme === 'https')) {
    const why = refusalOf(dockerHost, remoteAllowed, ['tcp', 'http', 'https']);
    return why === undefined ? undefined : `DOCKER_HOST: ${why}`;
  }
  return remoteAllowed ? undefined : `DOCKER_HOST: "${redactUrls(dockerHost)}" is not a local engine (unix socket or loopback tcp://); allowed only with --allow-remote`;
}
