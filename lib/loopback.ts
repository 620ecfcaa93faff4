/**
 * The loopback rule: the one host check for every connection the suite makes, in k6 and in Node (the target's
 * URLs, its components' health URLs, Toxiproxy and HAProxy APIs, the Docker API, the integrity read-back).
 * A host is loopback when it is 127.0.0.0/8, ::1 (any spelling, also IPv4-mapped ::ffff:127.x) or `localhost`;
 * anything else needs --allow-remote (ALLOW_REMOTE=1 inside k6). A URL carrying credentials
 * (`http://user:pw@host`) is refused whatever the host: credentials go in the target file's `login`/`users`.
 *
 * PURE: no `k6/*` import and no Node import (k6 runs it too). URLs are read with a strict grammar, not a lenient
 * parser, so that no spelling (a backslash, a second `@`, a `#@`) makes two parsers see two different hosts.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped ::ffff:127.x) and localhost; brackets and a final dot allowed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
  if (h === 'localhost') return true;
  const v4 = IPV4.exec(h);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && v4[1] === '127';
  if (!/^[0-9a-f:.]+$/.test(h) || !h.includes(':')) return false;
  const mapped = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) {
    const head = expandIpv6(`${mapped[1]}0:0`);
    return head !== undefined && head.slice(0, 5).every((g) => g === 0) && head[5] === 0xffff && isLoopbackHost(mapped[2]!);
  }
  const g = expandIpv6(h);
  if (!g || !g.slice(0, 5).every((x) => x === 0)) return false;
  if (g[5] === 0xffff) return g[6]! >> 8 === 127; // ::ffff:7f00:1, IPv4-mapped in hex
  return g[5] === 0 && g[6] === 0 && g[7] === 1;
}

function expandIpv6(h: string): number[] | undefined {
  const halves = h.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  const all = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

/** scheme://[userinfo@]host[:port][/path][?query][#fragment], with a host of letters, digits, `.`, `-`, `_` or [IPv6]. */
const URL_GRAMMAR = /^([a-z][a-z0-9+.-]*):\/\/(?:([^\s/?#@\\]*)@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?([/?#][^\s\\]*)?$/;

export interface UrlParts {
  scheme: string;
  /** `user` or `user:password`, when the URL carries credentials. */
  userinfo: string | undefined;
  /** Lower-cased; an IPv6 host keeps its brackets. */
  host: string;
  port: string | undefined;
}

/** The parts of a URL in the strict grammar above, or undefined when it is not such a URL. */
export function urlParts(url: string): UrlParts | undefined {
  const m = URL_GRAMMAR.exec(url);
  if (!m) return undefined;
  return { scheme: m[1]!.toLowerCase(), userinfo: m[2], host: m[3]!.toLowerCase(), port: m[4] };
}

/**
 * Why the rule refuses a URL ("has credentials", "is outside loopback", ...), or undefined when it may be
 * contacted. `schemes` lists what the caller accepts (e.g. ['http', 'https']).
 */
export function refusalOf(url: string, allowRemote: boolean, schemes: readonly string[] = ['http', 'https', 'ws', 'wss']): string | undefined {
  const p = urlParts(url);
  if (!p) return `"${redactUrls(url)}" is not a URL of the form ${schemes[0]}://host[:port][/path]`;
  if (!schemes.includes(p.scheme)) return `"${redactUrls(url)}" has scheme ${p.scheme}; allowed: ${schemes.join(', ')}`;
  if (p.userinfo !== undefined) return `"${redactUrls(url)}" carries credentials (user:password@); put them in the target file's login/users instead`;
  if (!allowRemote && !isLoopbackHost(p.host)) {
    return `host "${p.host}" is outside loopback; allowed: 127.0.0.0/8, localhost, ::1, or pass --allow-remote`;
  }
  return undefined;
}

/** Every `scheme://user:pw@` in a text with its credentials replaced by `***@` (for anything printed or stored). */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi, '$1***@');
}
