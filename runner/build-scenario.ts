/** The build step of a run: esbuild bundles one scenario (build.mjs) into dist/<name>.js, in this process. */
import { buildScenarios } from '../build.mjs';
import type { LogFn } from './log.js';

/** Bundles scenarios/<name>.ts into dist/<name>.js and returns the bundle's path. */
export async function buildScenario(name: string, log: LogFn): Promise<string> {
  const { outputs, ms } = await buildScenarios({ only: [name], quiet: true });
  const out = outputs.find((o) => o.name === name);
  if (!out) throw new Error(`build made no dist/${name}.js`);
  log(`bundled ${out.entry} → ${out.file} (${Math.round(out.bytes / 1024)} KiB, ${Math.round(ms)} ms)`);
  return out.file;
}
