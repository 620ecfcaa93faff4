// The db-link driver (db-cut) against a real toxiproxy-server with a proxy on a link to a real local node: the cut
// closes the open connection and refuses new ones, status shows it, heal (in another process, from the ledger
// alone, through `npm run chaos`) opens the same address again, a second heal does nothing.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbLinkDriver } from '../../chaos/drivers/db-link.js';
import { FaultUsageError } from '../../chaos/drivers/driver.js';
import { FaultStep } from '../../chaos/faults.js';
import { Ledger } from '../../chaos/ledger.js';
import { Nemesis } from '../../chaos/nemesis.js';
import { freePort, startToxiproxy, type ToxiproxyServer } from '../../chaos/toxiproxy/server.js';
import type { Component } from '../../runner/target-file.js';
import { killAll, probe, REPO, startHttpNode, tempDir, type HttpNode } from './helpers.js';

const dir = tempDir('db-link-test-');
let server: ToxiproxyServer;
let upstream: HttpNode;
let linkUrl: string;
let node: Component;

beforeAll(async () => {
  server = await startToxiproxy();
  upstream = await startHttpNode();
  const listen = `127.0.0.1:${await freePort()}`;
  await server.client.createProxy({ name: 'dbman-1-db', listen, upstream: `127.0.0.1:${upstream.port}` });
  linkUrl = `http://${listen}`;
  // the node itself is another process; only its database link matters here
  node = { name: 'dbman-1', url: 'http://127.0.0.1:9', faults: { dbLink: { apiUrl: server.apiUrl, proxy: 'dbman-1-db' } } };
}, 300_000);

afterAll(async () => {
  await server?.stop();
  killAll();
});

const step = FaultStep.parse({ fault: 'db-cut', node: 'dbman-1', at: 0, for: 5 });

/** An open TCP connection through the link; resolves `closed` when the proxy closes it. */
function openConnection(url: string): Promise<{ closed: Promise<void> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve({ closed: new Promise((r) => s.once('close', () => r())) }));
    s.once('error', reject);
  });
}

const chaos = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'chaos/cli/chaos.ts', ...args, '--ledger', join(dir, 'cli-ledger.jsonl'), '--target', join(dir, 'target.json')], { cwd: REPO, encoding: 'utf8' });

describe('db-link driver', () => {
  it('only reaches nodes with faults.dbLink, and only knows db-cut', () => {
    const d = new DbLinkDriver();
    expect(d.reaches(node)).toBe(true);
    expect(d.reaches({ ...node, faults: { toxiproxy: { apiUrl: server.apiUrl, proxy: 'dbman-1-db' } } })).toBe(false);
    expect(d.kinds).toEqual(['db-cut']);
  });

  it('db-cut closes the open connection and refuses new ones; heal listens on the same address again; a second heal does nothing', async () => {
    const nemesis = new Nemesis({ ledger: new Ledger(join(dir, 'ledger.jsonl')) });
    expect(await probe(linkUrl)).toBe('ok');
    const conn = await openConnection(linkUrl);
    const inj = await nemesis.inject(step, node);
    expect(inj.driver).toBe('db-link');
    await conn.closed;
    expect(await probe(linkUrl)).toBe('ECONNREFUSED');
    expect((await nemesis.status())[0]!.state).toMatch(/cut \(proxy disabled\)/);
    // a cut link cannot be cut twice: prepare refuses, nothing is written
    await expect(new DbLinkDriver().prepare(step, node)).rejects.toBeInstanceOf(FaultUsageError);
    // heal from the ledger alone, by a fresh nemesis (as another process would)
    const other = new Nemesis({ ledger: new Ledger(join(dir, 'ledger.jsonl')) });
    const { healed, errors } = await other.healAll();
    expect(errors).toEqual([]);
    expect(healed[0]!.outcome.detail).toBe('enabled database link dbman-1-db again');
    expect(await probe(linkUrl)).toBe('ok');
    const d = new DbLinkDriver();
    expect((await d.heal('db-cut', await d.prepare(step, node))).detail).toBe('database link dbman-1-db already enabled');
  });

  it('npm run chaos -- inject / status / heal handle db-cut', () => {
    const target = {
      version: 1,
      name: 'db-link test',
      chatUrl: 'http://127.0.0.1:9',
      authUrl: 'http://127.0.0.1:9',
      wsUrl: 'ws://127.0.0.1:9/ws',
      tenantId: 't',
      login: { email: 'a@loadtest.invalid', password: 'x' },
      dbmanNodes: [node],
    };
    writeFileSync(join(dir, 'target.json'), JSON.stringify(target));
    const inj = chaos('inject', '--fault', 'db-cut', '--node', 'dbman-1');
    expect(inj.status, inj.stderr).toBe(0);
    expect(inj.stdout).toMatch(/injected db-cut on dbman-1/);
    const st = chaos('status');
    expect(st.stdout).toMatch(/db-cut on dbman-1 via db-link .*cut \(proxy disabled\)/);
    const heal = chaos('heal');
    expect(heal.status, heal.stderr).toBe(0);
    expect(heal.stdout).toMatch(/enabled database link dbman-1-db again/);
    expect(chaos('status').stdout).toMatch(/nothing injected/);
    // a node without a database link: one line naming the setting, exit 2, nothing injected
    const bad = chaos('inject', '--fault', 'db-cut', '--node', 'dbman-2');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
