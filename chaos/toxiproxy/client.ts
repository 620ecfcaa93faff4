/**
 * A small client for Toxiproxy's HTTP API (https://github.com/Shopify/toxiproxy#http-api), with fetch.
 * The official clients are Go and Ruby; the npm ones are thin and unmaintained, and the API is six calls.
 */
import { guardedFetch } from '../../runner/connections.js';

export interface ProxyConfig {
  name: string;
  /** host:port the proxy listens on. */
  listen: string;
  /** host:port it forwards to. */
  upstream: string;
  enabled?: boolean;
}

export interface Toxic {
  name: string;
  type: 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';
  stream: 'upstream' | 'downstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

export class ToxiproxyError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class ToxiproxyClient {
  constructor(
    readonly apiUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, okMissing = false): Promise<T | undefined> {
    const url = new URL(path, this.apiUrl);
    let res: Response | undefined;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await guardedFetch(url, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        // a pooled keep-alive socket the server closed fails once; a fresh connection tells the truth
        if (attempt === 1 && e.name !== 'TimeoutError' && e.cause?.code !== 'ECONNREFUSED') continue;
        throw new ToxiproxyError(`toxiproxy ${method} ${url}: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`);
      }
    }
    const text = await res.text();
    if (res.status === 404 && okMissing) return undefined;
    if (!res.ok) throw new ToxiproxyError(`toxiproxy ${method} ${url}: ${res.status} ${text.trim()}`, res.status);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async version(): Promise<string> {
    const res = await guardedFetch(new URL('/version', this.apiUrl), { signal: AbortSignal.timeout(this.timeoutMs) });
    return (await res.text()).trim();
  }

  async createProxy(p: ProxyConfig): Promise<ProxyConfig> {
    return (await this.call<ProxyConfig>('POST', '/proxies', { enabled: true, ...p }))!;
  }

  async getProxy(name: string): Promise<(ProxyConfig & { toxics: Toxic[] }) | undefined> {
    return this.call('GET', `/proxies/${encodeURIComponent(name)}`, undefined, true);
  }

  /**
   * Enables or disables a proxy (POST /proxies/{name} {enabled}). Disabled, it closes every open connection and
   * stops listening, so new connections are refused; enabled again, it listens on the same address.
   */
  async setEnabled(name: string, enabled: boolean): Promise<ProxyConfig> {
    return (await this.call<ProxyConfig>('POST', `/proxies/${encodeURIComponent(name)}`, { enabled }))!;
  }

  async addToxic(proxy: string, toxic: Toxic): Promise<Toxic> {
    return (await this.call<Toxic>('POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, { toxicity: 1, ...toxic }))!;
  }

  async listToxics(proxy: string): Promise<Toxic[]> {
    return (await this.call<Toxic[]>('GET', `/proxies/${encodeURIComponent(proxy)}/toxics`)) ?? [];
  }

  /** Removes a toxic; true when it was there, false when it was already gone (idempotent). */
  async removeToxic(proxy: string, name: string): Promise<boolean> {
    const path = `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`;
    try {
      await this.call('DELETE', path, undefined, false);
      return true;
    } catch (err) {
      if (err instanceof ToxiproxyError && err.status === 404) return false;
      throw err;
    }
  }
}
