/** Well-known locations of the project, resolved from this file so every CLI works from any working directory. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Gitignored, project-local tools folder: `go install` puts k6 and toxiproxy-server here. */
export const toolsBin = join(repoRoot, '.tools', 'bin');
export const reportsDir = join(repoRoot, 'reports');
export const distDir = join(repoRoot, 'dist');
