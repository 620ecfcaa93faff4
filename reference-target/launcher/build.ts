/** Bundles each service into one self-contained ESM file under dist/target/, run with plain `node`. */
import { copyFileSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_DIR = join(REPO_ROOT, 'dist', 'target');
export const SERVICES = ['dbman', 'chat', 'orghub', 'session', 'tenanthub'] as const;
export type Service = (typeof SERVICES)[number];
/** Every bundle: the services, and `migrate` (migrations + seed, for a container set-up; the launcher migrates in-process). */
export type Bundle = Service | 'migrate';
const ENTRIES: Record<Bundle, string> = {
  dbman: 'reference-target/dbman/main.ts',
  chat: 'reference-target/chat/main.ts',
  orghub: 'reference-target/orghub/main.ts',
  session: 'reference-target/session/main.ts',
  tenanthub: 'reference-target/tenanthub/main.ts',
  migrate: 'reference-target/db/main.ts',
};

export function bundlePath(bundle: Bundle): string {
  return join(DIST_DIR, `${bundle}.mjs`);
}

/** Builds the bundles (about a second) and copies the migrations next to them; each file is written atomically. */
export async function buildServices(): Promise<Record<Bundle, string>> {
  mkdirSync(join(DIST_DIR, 'migrations'), { recursive: true });
  for (const f of readdirSync(join(REPO_ROOT, 'reference-target', 'migrations')).filter((x) => x.endsWith('.sql'))) {
    const tmp = join(DIST_DIR, 'migrations', `${f}.${process.pid}.tmp`);
    copyFileSync(join(REPO_ROOT, 'reference-target', 'migrations', f), tmp);
    renameSync(tmp, join(DIST_DIR, 'migrations', f));
  }
  const out = {} as Record<Bundle, string>;
  await Promise.all(
    (Object.keys(ENTRIES) as Bundle[]).map(async (s) => {
      const r = await build({
        entryPoints: [join(REPO_ROOT, ENTRIES[s])],
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
