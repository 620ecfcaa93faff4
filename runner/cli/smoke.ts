/** `npm run smoke -- [--target <file>] [--profile <name>] [--allow-remote] [--help]`; see runner/smoke.ts. */
import { allowRemoteConnections } from '../connections.js';
import { runSmoke } from '../smoke.js';
import { parseSmokeConfig, SMOKE_USAGE, UsageError } from '../smoke-config.js';

let code: number;
try {
  const config = parseSmokeConfig(process.argv.slice(2));
  if (config.help) {
    process.stdout.write(SMOKE_USAGE + '\n');
    code = 0;
  } else {
    allowRemoteConnections(config.allowRemote);
    code = await runSmoke(config);
  }
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`smoke: ${err.message}\n`);
  code = 2;
}
process.exit(code);
