#!/usr/bin/env node
/**
 * Bundles every scenarios/*.ts into dist/<name>.js for k6: ES module, k6 modules (`k6`, `k6/*`) external,
 * everything else (lib/, zod/mini) inlined so each file can be shipped alone to a remote or distributed runner,
 * with an inline source map (k6 reads it, so stack traces point at the .ts lines).
 *
 * Safe beside running k6 processes and other builds (several runs in one checkout): every bundle is written
 * once per content to `dist/<name>-<sha256 12 hex>.js` (never rewritten: the same content has the same name) and
 * `dist/<name>.js` is replaced with a rename (a reader sees the old file or the new one, never half of one). A run
 * gives k6 the content-named file (`pinned`); content-named files of the same scenario unused for a day are
 * removed.
 *
 *   node build.mjs            (npm run build)
 *   import { buildScenarios } from './build.mjs'; await buildScenarios({ quiet: true })
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(fileURLToPath(import.meta.url));
/** Content-named bundles not used (built or reused) for this long are removed by the next build of their scenario. */
export const PINNED_MAX_AGE_MS = 24 * 3600 * 1000;

/** Writes `bytes` to `path` through a uniquely named temporary file and a rename: never a half-written `path`. */
export async function writeFileAtomic(path, bytes) {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `dist/<name>-<hash>.js` for these bytes, written when absent (else its time is refreshed); old siblings removed. */
async function pin(outDir, name, bytes) {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const pinned = join(outDir, `${name}-${hash}.js`);
  const now = new Date();
  try {
    await utimes(pinned, now, now);
  } catch {
    await writeFileAtomic(pinned, bytes);
  }
  const isSibling = (f) => f.startsWith(`${name}-`) && /^[0-9a-f]{12}\.js$/.test(f.slice(name.length + 1));
  for (const f of await readdir(outDir)) {
    if (!isSibling(f) || join(outDir, f) === pinned) continue;
    const st = await stat(join(outDir, f)).catch(() => undefined);
    if (st && now.getTime() - st.mtimeMs > PINNED_MAX_AGE_MS) await rm(join(outDir, f), { force: true });
  }
  return pinned;
}

/**
 * @param {{ root?: string, outDir?: string, only?: string[], quiet?: boolean, minify?: boolean }} [opts]
 * @returns {Promise<{ outputs: Array<{ name: string, entry: string, file: string, pinned: string, bytes: number }>, ms: number }>}
 */
export async function buildScenarios(opts = {}) {
  const root = opts.root ?? ROOT;
  const srcDir = join(root, 'scenarios');
  const outDir = opts.outDir ?? join(root, 'dist');
  const t0 = performance.now();
  let names = (await readdir(srcDir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => basename(f, '.ts'));
  if (opts.only) {
    const unknown = opts.only.filter((n) => !names.includes(n));
    if (unknown.length) throw new Error(`no scenario ${unknown.join(', ')} in ${srcDir} (have: ${names.join(', ')})`);
    names = names.filter((n) => opts.only.includes(n));
  }
  if (names.length === 0) throw new Error(`no scenarios/*.ts in ${srcDir}`);
  await mkdir(outDir, { recursive: true });
  const entryPoints = Object.fromEntries(names.map((n) => [n, join(srcDir, `${n}.ts`)]));
  const { build } = await import('esbuild'); // loaded when a build runs: the CLIs that import this file start faster
  const result = await build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    // k6 v1 runs ES2020+ (sobek); keep syntax it certainly parses.
    target: 'es2020',
    mainFields: ['module', 'main'],
    conditions: ['import', 'default'],
    external: ['k6', 'k6/*'],
    sourcemap: 'inline',
    sourcesContent: true,
    minify: opts.minify ?? false,
    treeShaking: true,
    logLevel: 'silent',
    write: false,
    absWorkingDir: root,
  });
  if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join('\n'));
  const outputs = [];
  for (const n of names) {
    const file = join(outDir, `${n}.js`);
    const out = result.outputFiles.find((o) => o.path === file);
    if (!out) throw new Error(`esbuild made no ${file}`);
    const pinned = await pin(outDir, n, out.contents);
    await writeFileAtomic(file, out.contents);
    outputs.push({ name: n, entry: relative(root, entryPoints[n]), file, pinned, bytes: out.contents.byteLength });
  }
  const ms = Math.round(performance.now() - t0);
  if (!opts.quiet) {
    for (const o of outputs) console.log(`built ${relative(root, o.file)}  (${o.entry}, ${(o.bytes / 1024).toFixed(0)} kB)`);
    console.log(`build: ${outputs.length} scenario(s) in ${ms} ms`);
  }
  return { outputs, ms };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildScenarios({ only: process.argv.slice(2).length ? process.argv.slice(2) : undefined }).catch((err) => {
    console.error(`build: ${err.message.split('\n')[0]}`);
    process.exit(1);
  });
}
