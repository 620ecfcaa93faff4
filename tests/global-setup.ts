/**
 * Runs once before any test file: provisions the pinned tools into .tools/bin (a fresh clone builds them here,
 * ~2 min the first time; skipped when the right versions are there), so no test file depends on another having
 * run first. PostgreSQL, Redis, Chromium and Docker are installed by the code that starts them.
 */
import { ensureActionlint, ensureK6, ensureToxiproxyServer } from '../runner/provision.js';
import { dockerInfoOk, stopStartedDockerd } from '../reference-target/launcher/docker-engine.js';

export default async function provisionTools(): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);
  await ensureK6({ log });
  await ensureToxiproxyServer({ log });
  await ensureActionlint({ log });
  // A Docker engine that answered before the tests is the user's: left alone. One that the docker tests started
  // (ensureDockerEngine) is stopped again after the last test, so a test run leaves no server behind.
  const engineBefore = dockerInfoOk();
  return async () => {
    if (!engineBefore) log(`docker engine: ${await stopStartedDockerd()}`);
  };
}
