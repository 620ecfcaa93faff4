/**
 * The k6 scripts of a bench run, in one private folder: the suite's REST and room-socket scenarios bundled by
 * build.mjs (scenarios/rest.ts, scenarios/ws.ts, exactly as `npm run build` bundles them) and the bench's thin
 * wrappers from capacity/k6/ that import them and change only the executor (see each wrapper), and the same work
 * written by hand with k6 defaults (rest-hand.js, ws-hand.js: what the suite's overhead is measured against).
 */
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildScenarios } from '../build.mjs';

export interface BenchScripts {
  restSuite: string;
  /** the suite's REST work written by hand with k6 defaults (k6/rest-hand.js). */
  restHand: string;
  rawGet: string;
  wsSuite: string;
  /** the suite's room-socket work written by hand with k6 defaults (k6/ws-hand.js). */
  wsHand: string;
}

const WRAPPERS = join(dirname(fileURLToPath(import.meta.url)), 'k6');

export async function prepareScripts(dir: string): Promise<BenchScripts> {
  await buildScenarios({ only: ['rest', 'ws'], outDir: dir, quiet: true });
  const out = { restSuite: join(dir, 'rest-suite.js'), restHand: join(dir, 'rest-hand.js'), rawGet: join(dir, 'raw-get.js'), wsSuite: join(dir, 'ws-suite.js'), wsHand: join(dir, 'ws-hand.js') };
  for (const file of Object.values(out)) await copyFile(join(WRAPPERS, file.slice(dir.length + 1)), file);
  return out;
}
