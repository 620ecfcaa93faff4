/** Run ids, run directories and the atomically replaced reports/latest link. */
import { lstatSync, mkdtempSync, readlinkSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunDir, makeRunId, pointLatest } from '../../runner/run-dir.js';

describe('run dirs', () => {
  it('makes sortable run ids: UTC timestamp, kind, profile; a suffix within the same second', () => {
    const at = new Date('2026-11-23T14:05:09.123Z');
    expect(makeRunId('smoke', 'smoke', at)).toBe('20261123T140509Z-smoke-smoke');
    const taken = new Set(['20261123T140509Z-drill-failover', '20261123T140509Z-drill-failover-2']);
    expect(makeRunId('drill', 'failover', at, (id) => taken.has(id))).toBe('20261123T140509Z-drill-failover-3');
    const ids = [new Date('2026-11-23T09:59:59Z'), new Date('2026-11-23T10:00:00Z'), new Date('2027-01-01T00:00:00Z')].map((d) => makeRunId('load', 'stage1', d));
    expect([...ids].sort()).toEqual(ids);
  });

  it('creates distinct dirs for runs started in the same second, even concurrently', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reports-'));
    const made = await Promise.all([1, 2, 3, 4].map(() => createRunDir('smoke', 'smoke', root)));
    expect(new Set(made.map((m) => m.runId)).size).toBe(4);
    for (const m of made) expect(lstatSync(m.runDir).isDirectory()).toBe(true);
  });

  it('points latest at the newest run with a relative symlink, replacing the old one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'reports-'));
    const a = await createRunDir('smoke', 'smoke', root);
    const b = await createRunDir('drill', 'failover', root);
    await pointLatest(a.runDir, root);
    expect(readlinkSync(join(root, 'latest'))).toBe(a.runId);
    await pointLatest(b.runDir, root);
    expect(lstatSync(join(root, 'latest')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'latest'))).toBe(b.runId);
    expect(realpathSync(join(root, 'latest'))).toBe(realpathSync(b.runDir));
  });
});
