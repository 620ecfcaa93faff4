#!/usr/bin/env node
/**
 * Bundles every scenarios/*.ts into dist/<name>.js for k6: ES module, k6 modules (`k6`, `k6/*`) external,
 * everything else (lib/, zod/mini) inlined so each file can be shipped alone to a remote or distributed runner,
 * with an inline source map (k6 reads it, so stack traces point at the .ts lines).
 *
 *   node build.mjs            (npm run build)
 *   import { buildScenarios } from './build.mjs'; await buildScenarios({ quiet: true })
 */
import { readdir, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * @param {{ root?: string, outDir?: string, only?: string[], quiet?: boolean, minify?: boolean }} [opts]
 * @returns {Promise<{ outputs: Array<{ name: string, entry: string, file: string, bytes: number }>, ms: number }>}
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
    metafile: true,
    absWorkingDir: root,
  });
  if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join('\n'));
  const outputs = [];
  for (const n of names) {
    const file = join(outDir, `${n}.js`);
    const { size } = await stat(file);
    outputs.push({ name: n, entry: relative(root, entryPoints[n]), file, bytes: size });
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
