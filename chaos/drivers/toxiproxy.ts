/**
 * The toxiproxy driver: network faults on the link to a node, through the Toxiproxy proxy the target file names
 * (`faults.toxiproxy = {apiUrl, proxy}`), which the app services use to reach the node.
 *
 *   partition  timeout toxic, timeout 0: data is dropped until heal (a blackhole; looks like a frozen node)
 *   latency    latency toxic with jitter
 *   reset      reset_peer toxic, timeout 0: connections are reset (TCP RST) as data arrives
 *   bandwidth  bandwidth toxic, KB/s
 *
 * Heal deletes the toxic by its name (unique per fault); a toxic already gone counts as healed.
 */
import type { Component, ToxiproxyProxy } from '../../runner/target-file.js';
import type { FaultKind, FaultParams, FaultStep } from '../faults.js';
import { NETWORK_FAULTS } from '../faults.js';
import { ToxiproxyClient, type ProxyConfig, type Toxic } from '../toxiproxy/client.js';
import type { FaultDriver, HealOutcome } from './driver.js';
import { FaultUsageError } from './driver.js';
import type { ToxiproxyHandle } from '../handles.js';

export type { ToxiproxyHandle };

export function toxicFor(kind: FaultKind, name: string, p: FaultParams): Toxic {
  const down = p.stream ?? 'downstream';
  const up = p.stream ?? 'upstream';
  switch (kind) {
    case 'partition':
      return { name, type: 'timeout', stream: up, toxicity: 1, attributes: { timeout: 0 } };
    case 'reset':
      return { name, type: 'reset_peer', stream: up, toxicity: 1, attributes: { timeout: 0 } };
    case 'latency':
      return { name, type: 'latency', stream: down, toxicity: 1, attributes: { latency: p.latencyMs, jitter: p.jitterMs } };
    case 'bandwidth':
      return { name, type: 'bandwidth', stream: down, toxicity: 1, attributes: { rate: p.rateKBps } };
    default:
      throw new FaultUsageError(`toxiproxy driver: no fault ${kind}`);
  }
}

/**
 * The proxy a node's `faults.<field>` names, as the server has it now; a FaultUsageError (bad configuration,
 * nothing injected) when the target file gives no such access or the server has no such proxy.
 */
export async function accessedProxy(node: Component, field: 'toxiproxy' | 'dbLink'): Promise<{ access: ToxiproxyProxy; proxy: ProxyConfig }> {
  const access = node.faults?.[field];
  if (!access) throw new FaultUsageError(`node ${node.name}: target file gives no faults.${field}`);
  const proxy = await new ToxiproxyClient(access.apiUrl).getProxy(access.proxy);
  if (!proxy) throw new FaultUsageError(`node ${node.name}: toxiproxy at ${access.apiUrl} has no proxy ${access.proxy}`);
  return { access, proxy };
}

export class ToxiproxyDriver implements FaultDriver<ToxiproxyHandle> {
  readonly name = 'toxiproxy' as const;
  readonly kinds = NETWORK_FAULTS;

  reaches(node: Component): boolean {
    return node.faults?.toxiproxy !== undefined;
  }

  async prepare(step: FaultStep, node: Component): Promise<ToxiproxyHandle> {
    const { access: tp } = await accessedProxy(node, 'toxiproxy');
    const name = `chaos-${step.fault}-${Date.now().toString(36)}-${process.pid}`;
    return { node: node.name, apiUrl: tp.apiUrl, proxy: tp.proxy, toxic: toxicFor(step.fault, name, step.params) };
  }

  async inject(_kind: FaultKind, h: ToxiproxyHandle): Promise<void> {
    await new ToxiproxyClient(h.apiUrl).addToxic(h.proxy, h.toxic);
  }

  async heal(_kind: FaultKind, h: ToxiproxyHandle): Promise<HealOutcome> {
    let removed: boolean;
    try {
      removed = await new ToxiproxyClient(h.apiUrl).removeToxic(h.proxy, h.toxic.name);
    } catch (err) {
      // toxics live in the server's memory: a server that refuses connections has none left (a timeout is no proof)
      if (/\(ECONNREFUSED\)$/.test((err as Error).message)) {
        return { detail: `toxiproxy at ${h.apiUrl} is gone, and its toxics with it` };
      }
      throw err;
    }
    return { detail: removed ? `removed toxic ${h.toxic.name} from ${h.proxy}` : `toxic ${h.toxic.name} already gone` };
  }

  async inspect(_kind: FaultKind, h: ToxiproxyHandle): Promise<string> {
    try {
      const toxics = await new ToxiproxyClient(h.apiUrl).listToxics(h.proxy);
      const t = toxics.find((x) => x.name === h.toxic.name);
      return t ? `toxic ${t.name} (${t.type} ${t.stream} ${JSON.stringify(t.attributes)}) on ${h.proxy}` : `toxic gone from ${h.proxy}`;
    } catch (err) {
      return `toxiproxy unreachable: ${(err as Error).message}`;
    }
  }
}
