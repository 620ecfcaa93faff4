/**
 * buildServices skips the build when the bundles are there and no input changed since the last build (every
 * stack start calls it), and builds again when an input's mtime changes or a bundle is missing.
 */
import { rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, bundlePath, buildServices } from '../../reference-target/launcher/build.js';

const mtime = (p: string) => statSync(p).mtimeMs;

describe('buildServices', () => {
  it('builds once, then finds nothing to do until an input changes or a bundle goes missing', async () => {
    await buildServices();
    const first = mtime(bundlePath('session'));
    await buildServices();
    expect(mtime(bundlePath('session')), 'unchanged inputs: no rebuild').toBe(first);

    // an input of the bundles (a shared module of every service) touched: built again
    const input = join(REPO_ROOT, 'reference-target/shared/http.ts');
    const st = statSync(input);
    utimesSync(input, st.atime, new Date(Date.now() - 5000));
    try {
      await buildServices();
      const second = mtime(bundlePath('session'));
      expect(second, 'a touched input: rebuilt').toBeGreaterThan(first);
      rmSync(bundlePath('tenanthub'));
      await buildServices();
      expect(statSync(bundlePath('tenanthub')).size, 'a missing bundle: rebuilt').toBeGreaterThan(0);
      expect(mtime(bundlePath('session'))).toBeGreaterThan(second);
    } finally {
      utimesSync(input, st.atime, st.mtime);
    }
  }, 60_000);
});
