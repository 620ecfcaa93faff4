/**
 * `npm run k6 -- <args>`: provisions the pinned k6 into .tools/bin (building it when missing or of another
 * version), then runs it with the given arguments, passing its exit code through.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ensureK6, ProvisionError } from '../provision.js';

let k6: string;
try {
  k6 = await ensureK6();
} catch (err) {
  process.stderr.write(`k6: ${(err as Error).message}\n`);
  process.exit(err instanceof ProvisionError ? 2 : 1);
}
// Its own process group: Ctrl-C reaches k6 once, through us (the terminal signals the foreground group, and a
// second SIGINT makes k6 abort without its summary).
const child = spawn(k6, process.argv.slice(2), { stdio: 'inherit', detached: true });
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    child.kill('SIGINT');
  });
}
child.on('close', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
