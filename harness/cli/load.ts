/** `npm run load -- ...`: a part of a split run, or `merge`; see harness/load/config.ts for the usage. */
import { LOAD_USAGE, parsePartConfig, UsageError } from '../load/config.js';
import { mergeParts } from '../load/merge.js';
import { runPart } from '../load/part.js';

const argv = process.argv.slice(2);
let code: number;
try {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LOAD_USAGE + '\n');
    code = argv.length === 0 ? 2 : 0;
  } else if (argv[0] === 'merge') {
    const rest = argv.slice(1);
    const outAt = rest.indexOf('--out');
    const out = outAt >= 0 ? rest[outAt + 1] : undefined;
    if (outAt >= 0 && !out) throw new UsageError('--out', '--out: needs a directory');
    const dirs = rest.filter((_, i) => i !== outAt && i !== outAt + 1 || outAt < 0);
    const bad = dirs.find((d) => d.startsWith('-'));
    if (bad) throw new UsageError(bad, `${bad}: unknown option; allowed: merge <dir>... [--out <dir>]`);
    if (dirs.length === 0) throw new UsageError('merge', 'merge: no directories given; allowed: merge <dir>... [--out <dir>]');
    code = (await mergeParts({ dirs, ...(out ? { out } : {}) })).code;
  } else if (/^[a-z]/.test(argv[0]!)) {
    throw new UsageError(argv[0]!, `${argv[0]}: unknown command; allowed: merge, or a part: --profile <name> --segment <i>/<n>`);
  } else {
    code = (await runPart(parsePartConfig(argv))).code;
  }
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`load: ${err.message}\n`);
  code = 2;
}
process.exit(code);
