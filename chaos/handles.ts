/**
 * The schema of each driver's handle, as the ledger stores it in an `inject` line: what `npm run chaos -- heal`
 * acts on, possibly in another process after a crash. The ledger validates every inject line against the schema
 * of the driver it names (chaos/ledger.ts), so a handle of the wrong shape is reported as an invalid line and
 * never reaches a driver, and a process handle can only name a command for the node its line is about.
 * Additive: a driver's new handle field is optional here first.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { DB_LINK_FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, type FaultKind } from './faults.js';

export const DOCKER_FAULTS = ['stop', 'kill', 'pause', 'restart', 'partition'] as const satisfies readonly FaultKind[];

const name = z.string().min(1).max(200);
const url = z.string().min(1).max(2048).regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL');
const ProcRef = z.object({ pid: z.number().int().positive(), startTime: z.number().int().nonnegative() }).strict();

export const ProcessHandle = z
  .object({
    node: name,
    url,
    root: ProcRef,
    tree: z.array(ProcRef).min(1).max(10_000),
    cmdline: z.array(z.string().max(65_536)).min(1).max(4096).refine((c) => c[0] !== '', 'a command line with a program'),
    env: z.record(z.string().max(65_536), z.string().max(65_536)),
    cwd: z.string().min(1).max(4096).refine((p) => isAbsolute(p), 'an absolute folder'),
    logDir: z.string().min(1).max(4096),
    exitWaitMs: z.number().int().positive().max(3_600_000),
    /** The process's real uid/gid (PostgreSQL runs as `postgres`): a restart as root switches to them. */
    uid: z.number().int().nonnegative().optional(),
    gid: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((h) => h.tree[0]!.pid === h.root.pid && h.tree[0]!.startTime === h.root.startTime, 'tree must start with root');
export type ProcessHandle = z.infer<typeof ProcessHandle>;

export const ToxiproxyHandle = z
  .object({
    node: name,
    apiUrl: url,
    proxy: name,
    toxic: z
      .object({
        name: name,
        type: z.enum(['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data']),
        stream: z.enum(['upstream', 'downstream']),
        toxicity: z.number().min(0).max(1).optional(),
        attributes: z.record(z.string().max(64), z.number()),
      })
      .strict(),
  })
  .strict();
export type ToxiproxyHandle = z.infer<typeof ToxiproxyHandle>;

export const DockerHandle = z
  .object({
    node: name,
    container: name,
    id: z.string().max(64),
    networks: z.array(z.object({ name, aliases: z.array(z.string().max(255)).max(100) }).strict()).max(100).optional(),
  })
  .strict();
export type DockerHandle = z.infer<typeof DockerHandle>;

export const DbLinkHandle = z.object({ node: name, apiUrl: url, proxy: name }).strict();
export type DbLinkHandle = z.infer<typeof DbLinkHandle>;

/** Per driver: the faults it takes and its handle's schema. */
export const DRIVER_SCHEMAS = {
  process: { kinds: PROCESS_FAULTS, handle: ProcessHandle },
  toxiproxy: { kinds: NETWORK_FAULTS, handle: ToxiproxyHandle },
  docker: { kinds: DOCKER_FAULTS, handle: DockerHandle },
  'db-link': { kinds: DB_LINK_FAULTS, handle: DbLinkHandle },
} as const;

/** Why an inject line's driver, fault and handle do not fit together, or undefined when they do. */
export function handleProblem(driver: keyof typeof DRIVER_SCHEMAS, fault: FaultKind, node: string, handle: unknown): string | undefined {
  const s = DRIVER_SCHEMAS[driver];
  if (!(s.kinds as readonly string[]).includes(fault)) return `driver ${driver} does not take fault ${fault} (it takes ${s.kinds.join(', ')})`;
  const r = s.handle.safeParse(handle);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return `handle of the ${driver} driver: ${issue.path.join('.') || '(handle)'}: ${issue.message}`;
  }
  if (r.data.node !== node) return `handle is for node ${r.data.node}, the line for node ${node}`;
  return undefined;
}
