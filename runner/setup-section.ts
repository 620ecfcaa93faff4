/**
 * The setup section of a run: what setup() made, who the load ran as, and every failed setup call (which call,
 * status, error text, how many; required or not, and what the run did instead). Read from the setup data the
 * scenario's handleSummary writes (lib/setup.ts publicSetupData: no tokens, no passwords); shown in summary.json,
 * the printout and the report. Setup requests carry `phase:setup` / `traffic:setup` and never count in the load's
 * thresholds.
 */
import { z } from 'zod';

export const SetupFailure = z.object({
  fixture: z.string(),
  call: z.string(),
  status: z.number(),
  error: z.string(),
  count: z.number().int().positive(),
  required: z.boolean(),
  instead: z.string().optional(),
});
export type SetupFailure = z.infer<typeof SetupFailure>;

export const SetupSection = z.object({
  ready: z.boolean(),
  reason: z.string().optional(),
  usersMode: z.enum(['created', 'given', 'admin']).optional(),
  usersNote: z.string().optional(),
  /** Users the VUs were spread over (0: the admin alone). */
  users: z.number().int().nonnegative(),
  rooms: z.number().int().nonnegative(),
  failures: z.array(SetupFailure),
});
export type SetupSection = z.infer<typeof SetupSection>;

/** The setup section from k6's summary data (`setup_data`), or undefined when setup wrote none (it never ran). */
export function setupSectionOf(setupData: unknown): SetupSection | undefined {
  if (!setupData || typeof setupData !== 'object') return undefined;
  const d = setupData as Record<string, unknown>;
  const created = (d.created ?? {}) as { rooms?: number };
  const parsed = SetupSection.safeParse({
    ready: d.ready === true,
    ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
    ...(typeof d.usersMode === 'string' ? { usersMode: d.usersMode } : {}),
    ...(typeof d.usersNote === 'string' ? { usersNote: d.usersNote } : {}),
    users: typeof d.users === 'number' ? d.users : 0,
    rooms: typeof created.rooms === 'number' ? created.rooms : 0,
    failures: Array.isArray(d.failures) ? d.failures : [],
  });
  return parsed.success ? parsed.data : undefined;
}

/** The error that stops a run whose setup lacked a fixture it cannot do without ("" when setup was ready). */
export function setupStopError(s: SetupSection | undefined): string | undefined {
  if (!s || s.ready) return undefined;
  return `setup failed, the load was not started: ${s.reason ?? 'setup not ready'}`;
}

/** The printout's setup lines: who the load ran as, then one line per failed call (warnings, or the stop). */
export function formatSetup(s: SetupSection | undefined): string {
  if (!s) return 'setup: no setup data (setup did not run)';
  const lines = [`setup: ${s.ready ? 'ready' : 'NOT READY'}; ${s.rooms} rooms; ${s.usersNote ?? `${s.users} users`}`];
  for (const f of s.failures) {
    const what = `${f.count} × ${f.call} → ${f.status === 0 ? 'no response' : f.status} "${f.error}"`;
    lines.push(f.required ? `  setup FAILED (${f.fixture}, required): ${what}: the load was not started` : `  setup warning (${f.fixture}): ${what}: ${f.instead ?? 'the run goes on without it'}`);
  }
  if (s.failures.length) lines.push('  (setup requests are tagged phase:setup and do not count in the load\'s thresholds)');
  return lines.join('\n');
}
