// The toxiproxy driver against a real toxiproxy-server (provisioned by the runner) in front of a real local
// HTTP node: latency shows up, the timeout toxic blackholes, reset_peer resets, bandwidth slows a large body,
// and heal removes the toxic (idempotently).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultStep } from '../../chaos/faults.js';
import { Ledger } from '../../chaos/ledger.js';
import { Nemesis } from '../../chaos/nemesis.js';
import { proxyNodes, startToxiproxy, type NodeProxy, type ToxiproxyServer } from '../../chaos/toxiproxy/server.js';
import { killAll, probe, startHttpNode, tempDir, type HttpNode } from './helpers.js';

let server: ToxiproxyServer;
let node: HttpNode;
let proxy: NodeProxy;
let nemesis: Nemesis;
let ledger: Ledger;

beforeAll(async () => {
  server = await startToxiproxy();
  node = await startHttpNode();
  proxy = (await proxyNodes(server.apiUrl, [{ name: 'node-a', url: node.url }]))[0]!;
  ledger = new Ledger(join(tempDir(), 'ledger.jsonl'));
  nemesis = new Nemesis({ ledger });
}, 300_000);

afterAll(async () => {
  await nemesis?.healAll();
  await server?.stop();
  killAll();
});

const comp = () => ({ name: 'node-a', url: node.url, faults: { toxiproxy: proxy.toxiproxy } });
const step = (fault: string, params: Record<string, unknown> = {}) => FaultStep.parse({ fault, node: 'node-a', at: 0, for: 5, params });

async function timed(url: string, ms: number): Promise<{ result: string; ms: number }> {
  const t0 = performance.now();
  // a fresh connection each time, so a toxic that acts on new connections is seen too
  const result = await probe(url, ms);
  return { result, ms: performance.now() - t0 };
}

describe('toxiproxy driver', () => {
  it('the proxy forwards to the node', async () => {
    expect(proxy.url).not.toBe(node.url);
    expect(await probe(proxy.url)).toBe('ok');
  });

  it('latency with jitter shows up on requests through the proxy, and heal removes it', async () => {
    const before = await timed(proxy.url, 2000);
    expect(before.result).toBe('ok');
    expect(before.ms).toBeLessThan(200);
    const inj = await nemesis.inject(step('latency', { latencyMs: 600, jitterMs: 50 }), comp());
    const during = await timed(proxy.url, 3000);
    expect(during.result).toBe('ok');
    expect(during.ms).toBeGreaterThan(500);
    // the node itself is untouched
    expect((await timed(node.url, 2000)).ms).toBeLessThan(200);
    await nemesis.heal(inj.id);
    const after = await timed(proxy.url, 2000);
    expect(after.ms).toBeLessThan(200);
  });

  it('partition (timeout toxic, 0) blackholes: requests through the proxy time out until heal', async () => {
    const inj = await nemesis.inject(step('partition'), comp());
    expect((await timed(proxy.url, 1000)).result).toBe('timeout');
    expect(await nemesis.status()).toHaveLength(1);
    expect((await nemesis.status())[0]!.state).toMatch(/toxic chaos-partition-.* \(timeout upstream/);
    await nemesis.heal(inj.id);
    expect((await timed(proxy.url, 1000)).result).toBe('ok');
    expect(await nemesis.status()).toHaveLength(0);
  });

  it('reset (reset_peer) resets connections: requests fail at once, not by timeout', async () => {
    const inj = await nemesis.inject(step('reset'), comp());
    const r = await timed(proxy.url, 2000);
    expect(r.result).not.toBe('ok');
    expect(r.result).not.toBe('timeout');
    expect(r.ms).toBeLessThan(1000);
    await nemesis.heal(inj.id);
    expect(await probe(proxy.url)).toBe('ok');
  });

  it('bandwidth limits the rate of a large response', async () => {
    const inj = await nemesis.inject(step('bandwidth', { rateKBps: 1 }), comp());
    // http-node echoes the path: a 4 KB path makes a ~4 KB body, ~4 s at 1 KB/s
    const r = await timed(`${proxy.url}/${'x'.repeat(4000)}`, 10_000);
    expect(r.result).toBe('ok');
    expect(r.ms).toBeGreaterThan(2000);
    await nemesis.heal(inj.id);
  });

  it('heal is idempotent: a toxic already gone counts as healed', async () => {
    const inj = await nemesis.inject(step('partition'), comp());
    await server.client.removeToxic(proxy.proxy, (ledger.get(inj.id)!.inject.handle as { toxic: { name: string } }).toxic.name);
    const healed = await nemesis.heal(inj.id);
    expect(healed.outcome.detail).toMatch(/already gone/);
    expect(await probe(proxy.url)).toBe('ok');
  });

  it('a toxic whose server is gone counts as healed (toxics live in its memory); a server that answers is asked', async () => {
    const other = await startToxiproxy();
    const [p] = await proxyNodes(other.apiUrl, [{ name: 'node-b', url: node.url }]);
    const inj = await nemesis.inject(step('partition'), { name: 'node-b', url: node.url, faults: { toxiproxy: p!.toxiproxy } });
    expect((await timed(p!.url, 700)).result).toBe('timeout');
    await other.stop();
    const healed = await nemesis.heal(inj.id);
    expect(healed.outcome.detail).toMatch(/is gone, and its toxics with it/);
    expect(ledger.active()).toEqual([]);
  });
});
