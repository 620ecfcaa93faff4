/** Types of build.mjs (esbuild bundling of scenarios/*.ts into dist/<name>.js for k6). */
export interface BuildOptions {
  /** Repository root (default: the folder of build.mjs). */
  root?: string;
  /** Output folder (default: <root>/dist). */
  outDir?: string;
  /** Scenario names to build (default: every scenarios/*.ts). */
  only?: string[];
  /** No progress lines on stdout. */
  quiet?: boolean;
  minify?: boolean;
}
export interface BuildOutput {
  name: string;
  /** scenarios/<name>.ts, relative to root. */
  entry: string;
  /** absolute path of dist/<name>.js (replaced with a rename on every build) */
  file: string;
  /** absolute path of dist/<name>-<content hash>.js: written once per content, never rewritten; give this to k6 */
  pinned: string;
  bytes: number;
}
export function buildScenarios(opts?: BuildOptions): Promise<{ outputs: BuildOutput[]; ms: number }>;
/** Writes bytes to path through a uniquely named temporary file in the same folder and a rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void>;
export const PINNED_MAX_AGE_MS: number;
