/**
 * The db-link driver: `db-cut` takes PostgreSQL away from one dbman node while the node itself runs on, through
 * the Toxiproxy proxy on that node's own database link (the target file's `faults.dbLink = {apiUrl, proxy}`; the
 * node's DATABASE_URL points at it).
 *
 *   db-cut   disable the proxy: Toxiproxy closes every open connection of it and stops listening, so the node's
 *            pool loses its connections at once and every new connection is refused (ECONNREFUSED). The node
 *            sees a dead database, not a slow one: its readiness check fails within one check, its liveness
 *            does not depend on the database and must stay 200.
 *   heal     enable the proxy again (same listen address); a proxy already enabled counts as healed, and a
 *            toxiproxy-server that is gone took the cut with it (there is nothing left to undo).
 *
 * A toxic (timeout 0) would be the other choice; it hangs open connections instead of closing them, which tests
 * the readiness timeout rather than the cut. `partition` through `faults.toxiproxy` already covers the hang.
 */
import type { Component } from '../../runner/target-file.js';
import type { FaultKind, FaultStep } from '../faults.js';
import { DB_LINK_FAULTS } from '../faults.js';
import { ToxiproxyClient } from '../toxiproxy/client.js';
import type { FaultDriver, HealOutcome } from './driver.js';
import { FaultUsageError } from './driver.js';
import type { DbLinkHandle } from '../handles.js';
import { accessedProxy } from './toxiproxy.js';

export type { DbLinkHandle };

export class DbLinkDriver implements FaultDriver<DbLinkHandle> {
  readonly name = 'db-link' as const;
  readonly kinds = DB_LINK_FAULTS;

  reaches(node: Component): boolean {
    return node.faults?.dbLink !== undefined;
  }

  async prepare(_step: FaultStep, node: Component): Promise<DbLinkHandle> {
    const { access: link, proxy: p } = await accessedProxy(node, 'dbLink');
    if (p.enabled === false) throw new FaultUsageError(`node ${node.name}: the database link ${link.proxy} is already cut`);
    return { node: node.name, apiUrl: link.apiUrl, proxy: link.proxy };
  }

  async inject(kind: FaultKind, h: DbLinkHandle): Promise<void> {
    if (kind !== 'db-cut') throw new FaultUsageError(`db-link driver: no fault ${kind}`);
    await new ToxiproxyClient(h.apiUrl).setEnabled(h.proxy, false);
  }

  async heal(_kind: FaultKind, h: DbLinkHandle): Promise<HealOutcome> {
    const client = new ToxiproxyClient(h.apiUrl);
    let p;
    try {
      p = await client.getProxy(h.proxy);
    } catch (err) {
      // a disabled proxy lives in the server's memory: a server that refuses connections cuts nothing any more
      if (/\(ECONNREFUSED\)$/.test((err as Error).message)) return { detail: `toxiproxy at ${h.apiUrl} is gone, and the cut with it` };
      throw err;
    }
    if (!p) return { detail: `proxy ${h.proxy} is gone from ${h.apiUrl}` };
    if (p.enabled !== false) return { detail: `database link ${h.proxy} already enabled` };
    await client.setEnabled(h.proxy, true);
    return { detail: `enabled database link ${h.proxy} again` };
  }

  async inspect(_kind: FaultKind, h: DbLinkHandle): Promise<string> {
    try {
      const p = await new ToxiproxyClient(h.apiUrl).getProxy(h.proxy);
      if (!p) return `proxy ${h.proxy} gone from ${h.apiUrl}`;
      return `database link ${h.proxy} (${p.listen} → ${p.upstream}) ${p.enabled === false ? 'cut (proxy disabled)' : 'enabled'}`;
    } catch (err) {
      return `toxiproxy unreachable: ${(err as Error).message}`;
    }
  }
}
