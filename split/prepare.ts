/**
 * `npm run load -- prepare --profile P --run-id X`: what the parts of one split run must share, made once before
 * they start: the hot room (one room whose subscribers get every publisher's messages, as in an unsplit run).
 * Written to a rooms file (`rooms.json`, no secrets) that every part is given with `--rooms`; the part passes
 * the id to k6 as HOT_ROOM (lib/config.ts), and its setup() adds its own pool users to that room.
 *
 * Only the hot room is shared: users and the REST/WS rooms stay per part (sharing those rooms would need every
 * part's pool user added to each of thousands of rooms; see README.md "Known limits").
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { login } from '../integrity/readback.js';
import { resolveProfile, type ProfileName } from '../lib/profiles.js';
import { progress } from '../runner/log.js';
import { writeJson } from '../runner/run-dir.js';
import type { TargetFile } from '../runner/target-file.js';
import { guardedFetch } from '../runner/connections.js';

export const ROOMS_FILE = 'rooms.json';

export const RoomsFile = z.object({
  version: z.literal(1),
  runId: z.string(),
  profile: z.string(),
  /** The target the rooms live on (its chat URL and tenant): a part aimed elsewhere is refused. */
  chatUrl: z.string(),
  tenantId: z.string(),
  /** The shared hot room; null when the profile has no hot room. */
  hotRoom: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export type RoomsFile = z.infer<typeof RoomsFile>;

/** Reads and checks a rooms file; throws a one-line Error saying what is wrong. */
export function readRoomsFile(path: string): RoomsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = RoomsFile.safeParse(raw);
  if (!r.success) throw new Error(`${path} is not a rooms file written by npm run load -- prepare (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`);
  return r.data;
}

async function createRoom(target: TargetFile, token: string, name: string): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
    try {
      const res = await guardedFetch(`${target.chatUrl}/api/v1/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name, room_type: 'group', member_ids: [] }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json().catch(() => ({}))) as { id?: unknown };
      if (res.status === 201 && typeof body.id === 'string') return body.id;
      last = `HTTP ${res.status}`;
      if (res.status < 500) break; // a 4xx will not change on a retry
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`creating the hot room on ${target.chatUrl} failed: ${last}`);
}

export interface PrepareInput {
  target: TargetFile;
  profile: ProfileName;
  runId: string;
  /** Where to write the rooms file. */
  out: string;
  log?: (line: string) => void;
}

/** Creates the run's shared rooms as the target's login and writes the rooms file. */
export async function prepareRun(input: PrepareInput): Promise<RoomsFile> {
  const log = progress('prepare', input.log ?? ((l: string) => process.stderr.write(l + '\n')));
  const hasHotRoom = resolveProfile(input.profile).hotRoom !== undefined;
  let hotRoom: string | null = null;
  if (hasHotRoom) {
    const token = await login(input.target);
    hotRoom = await createRoom(input.target, token, `k6 ${input.runId} hot shared`);
  }
  const file: RoomsFile = {
    version: 1,
    runId: input.runId,
    profile: input.profile,
    chatUrl: input.target.chatUrl,
    tenantId: input.target.tenantId,
    hotRoom,
    createdAt: new Date().toISOString(),
  };
  await mkdir(dirname(input.out), { recursive: true });
  await writeJson(input.out, RoomsFile.parse(file));
  log(`run ${input.runId}: ${hotRoom ? `hot room ${hotRoom}` : `profile ${input.profile} has no hot room`}; wrote ${input.out} (give it to every part: --rooms ${input.out})`);
  return file;
}
