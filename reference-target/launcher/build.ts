/** Bundles each service into one self-contained ESM file under dist/target/, run with plain `node`. */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile } from 'esbuild';

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

const BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  write: false,
  external: ['pg-native', 'bufferutil', 'utf-8-validate'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'silent',
  legalComments: 'none',
  metafile: true,
  absWorkingDir: REPO_ROOT,
};

/** What a set of bundles was built from: esbuild's version and options, and each input file's mtime and size. */
interface BuildManifest {
  key: string;
  inputs: Record<string, [number, number]>;
}
const MANIFEST = join(DIST_DIR, 'inputs.json');
// esbuild itself is loaded when a bundle is built (not by every CLI that imports the launcher); its version from its package
const esbuildVersion = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;
const manifestKey = JSON.stringify({ esbuildVersion, BUILD_OPTIONS, ENTRIES });

function inputStamp(rel: string): [number, number] | undefined {
  try {
    const st = statSync(join(REPO_ROOT, rel));
    return [st.mtimeMs, st.size];
  } catch {
    return undefined;
  }
}

/** True when every bundle exists and no input of the last build changed since (same mtime and size). */
function bundlesCurrent(): boolean {
  if (!existsSync(MANIFEST) || !(Object.keys(ENTRIES) as Bundle[]).every((b) => existsSync(bundlePath(b)))) return false;
  try {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8')) as BuildManifest;
    if (m.key !== manifestKey) return false;
    return Object.entries(m.inputs).every(([rel, [mtime, size]]) => {
      const now = inputStamp(rel);
      return now !== undefined && now[0] === mtime && now[1] === size;
    });
  } catch {
    return false;
  }
}

function writeAtomically(path: string, contents: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * Builds the bundles (about two seconds) and copies the migrations next to them; each file is written atomically.
 * Skipped when the bundles are there and none of the files they were built from changed (`dist/target/inputs.json`):
 * every stack start calls this, and most find nothing to do.
 */
export async function buildServices(): Promise<Record<Bundle, string>> {
  mkdirSync(join(DIST_DIR, 'migrations'), { recursive: true });
  for (const f of readdirSync(join(REPO_ROOT, 'reference-target', 'migrations')).filter((x) => x.endsWith('.sql'))) {
    const tmp = join(DIST_DIR, 'migrations', `${f}.${process.pid}.tmp`);
    copyFileSync(join(REPO_ROOT, 'reference-target', 'migrations', f), tmp);
    renameSync(tmp, join(DIST_DIR, 'migrations', f));
  }
  const out = Object.fromEntries((Object.keys(ENTRIES) as Bundle[]).map((b) => [b, bundlePath(b)])) as Record<Bundle, string>;
  if (bundlesCurrent()) return out;
  const startedMs = Date.now();
  const metas = await Promise.all(
    (Object.keys(ENTRIES) as Bundle[]).map(async (s) => {
      const { build } = await import('esbuild');
      const r = await build({ ...BUILD_OPTIONS, entryPoints: [join(REPO_ROOT, ENTRIES[s])], outfile: bundlePath(s) });
      writeAtomically(bundlePath(s), r.outputFiles![0]!.contents);
      return r.metafile as Metafile;
    }),
  );
  const inputs: BuildManifest['inputs'] = {};
  for (const rel of new Set(metas.flatMap((m) => Object.keys(m.inputs)))) {
    const stamp = inputStamp(rel);
    // a file edited while the build ran may be in the bundles in its old form: no manifest, the next call builds
    if (!stamp || stamp[0] >= startedMs - 1000) return out;
    inputs[rel] = stamp;
  }
  writeAtomically(MANIFEST, JSON.stringify({ key: manifestKey, inputs } satisfies BuildManifest));
  return out;
}
