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
  /** absolute path of dist/<name>.js */
  file: string;
  bytes: number;
}
export function buildScenarios(opts?: BuildOptions): Promise<{ outputs: BuildOutput[]; ms: number }>;
