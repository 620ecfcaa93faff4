/** Bundles each service into one self-contained ESM file under dist/target/, run with plain `node`. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_DIR = join(REPO_ROOT, 'dist', 'target');
export const SERVICES = ['dbman', 'chat', 'orghub'] as const;
export type Service = (typeof SERVICES)[number];

export function bundlePath(service: Service): string {
  return join(DIST_DIR, `${service}.mjs`);
}

/** Builds the three bundles (about a second); each file is written atomically. */
export async function buildServices(): Promise<Record<Service, string>> {
  mkdirSync(DIST_DIR, { recursive: true });
  const out = {} as Record<Service, string>;
  await Promise.all(
    SERVICES.map(async (s) => {
      const r = await build({
        entryPoints: [join(REPO_ROOT, 'target', s, 'main.ts')],
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'esm',
        write: false,
        outfile: bundlePath(s),
        external: ['pg-native', 'bufferutil', 'utf-8-validate'],
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        logLevel: 'silent',
        legalComments: 'none',
      });
      const file = r.outputFiles[0]!;
      const tmp = `${bundlePath(s)}.${process.pid}.tmp`;
      writeFileSync(tmp, file.contents);
      renameSync(tmp, bundlePath(s));
      out[s] = bundlePath(s);
    }),
  );
  return out;
}
