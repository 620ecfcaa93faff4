/** A chat message as dbman stores it, and the two shapes chat derives from a request: its meta and its fan-out frame. */

export interface StoredMessage {
  tenant_id: string;
  id: string;
  room_id: string;
  sender_id: string;
  body: string;
  meta_json: Record<string, unknown>;
  created_at: string;
}

/** What a REST post or a WS `message` frame asks chat to store (dbman picks `created_at`, chat picks `id`). */
export type NewMessage = Omit<StoredMessage, 'id' | 'created_at'>;

/** The room frame every member's socket gets for a stored message (the sender's own copy is its acknowledgement). */
export function fanoutFrame(msg: StoredMessage): string {
  return JSON.stringify({ type: 'message', room_id: msg.room_id, user_id: msg.sender_id, target_id: msg.room_id, payload: msg });
}

export function metaJson(fileId: string | undefined, fileIds: string[] | undefined, emojis: string[] | undefined): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  if (fileId !== undefined && fileId !== '') meta['file_id'] = fileId;
  if (fileIds !== undefined && fileIds.length > 0) meta['file_ids'] = fileIds;
  if (emojis !== undefined && emojis.length > 0) meta['emojis'] = emojis;
  return meta;
}
