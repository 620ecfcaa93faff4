/**
 * Message history for the integrity check (issue 6), at no extra sample cost: the facts of each send and receipt
 * ride as k6 sample *metadata* (not tags, so no new time series) on samples the suite emits anyway, and reach
 * k6's JSON output (`--out json`) as `data.metadata`:
 *
 * - `message_store_success` (every store attempt): `marker`, `room`, `sender` (user id), `outcome`
 *   (`acked` | `failed` | `unknown`), `detail` (HTTP status or error-frame kind or `timeout`/`closed`);
 * - `ws_ack_via_duplicate` (a retry answered `duplicate client_msg_id`: stored earlier): `marker`, `room`, `sender`,
 *   `outcome: acked`;
 * - `ws_session_ok` (every socket when it ends): `socket`, `room`, `opened_ms`, `closed_ms`, `gaps`, `digest` (every
 *   marked frame it received: lib/delivery-digest.ts);
 * - `ws_repeat_answers` (every idempotency repeat): `marker`, `room`, `sender`, `answer`, `detail`;
 * - `read_after_write_miss`: `marker`, `room`.
 *
 * Only those samples carry it (integrity/history.ts reads no other): the latencies (`message_store_latency`,
 * `ws_delivery_latency`, `ws_fanout_latency`) do not, as metadata costs k6 time and raw-output bytes per sample.
 */
import exec from 'k6/execution';

export type Meta = Record<string, string | number | boolean>;

/**
 * The VU's metadata object, looked up once per VU: `exec.vu` builds its whole info object on every access (~10 µs
 * in k6's runtime), and the metadata object reads and writes the VU's state, which lasts as long as the VU.
 */
let vuMetadata: Record<string, string | number | boolean> | undefined;

/** Runs `emit` with `meta` set as the VU's sample metadata, then removes it again. */
export function withMeta(meta: Meta, emit: () => void): void {
  const md = (vuMetadata ??= exec.vu.metrics.metadata);
  const keys = Object.keys(meta);
  // indexed loops: for...of builds an iterator and a result object per step in k6's runtime (~4x slower)
  for (let i = 0; i < keys.length; i++) md[keys[i]!] = meta[keys[i]!]!;
  try {
    emit();
  } finally {
    for (let i = 0; i < keys.length; i++) delete md[keys[i]!];
  }
}
