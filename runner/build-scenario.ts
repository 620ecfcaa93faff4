/**
 * The build step of a run: esbuild bundles one scenario (build.mjs), in this process. The run's k6 gets the
 * content-named bundle (dist/<name>-<hash>.js), which no later build rewrites, so runs started side by side in
 * one checkout never read a bundle another one is writing.
 */
import { relative } from 'node:path';
import { buildScenarios } from '../build.mjs';
import type { LogFn } from './log.js';
import { repoRoot } from './paths.js';

/** Bundles scenarios/<name>.ts and returns the path of its content-named bundle. */
export async function buildScenario(name: string, log: LogFn): Promise<string> {
  const { outputs, ms } = await buildScenarios({ only: [name], quiet: true });
  const out = outputs.find((o) => o.name === name);
  if (!out) throw new Error(`build made no dist/${name}.js`);
  log(`bundled ${out.entry} → ${relative(repoRoot, out.pinned)} (${Math.round(out.bytes / 1024)} KiB, ${Math.round(ms)} ms)`);
  return out.pinned;
}
