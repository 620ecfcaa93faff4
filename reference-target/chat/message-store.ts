/** Storing a chat message through dbman, with the lose-messages flaw. */
import { randomUUID } from 'node:crypto';
import type { DbmanClient, DbmanResponse } from '../dbman-client/client.js';
import type { NewMessage, StoredMessage } from './message.js';

export type StoreMessage = (m: NewMessage) => Promise<DbmanResponse<StoredMessage>>;

/** Stores a message, or (lose-messages, every `loseEvery`th write) makes up the stored message without storing it. */
export function messageStore(dbman: DbmanClient, loseEvery: number | undefined): StoreMessage {
  let writes = 0;
  return async (m) => {
    writes += 1;
    if (loseEvery !== undefined && writes % loseEvery === 0) {
      return { status: 201, body: { ...m, id: randomUUID(), created_at: new Date().toISOString() }, endpoint: 'none (lose-messages)' };
    }
    // The id is chosen here, once per message, so the dbman client's retry on the next node stores it once.
    return dbman.call<StoredMessage>('messages', { ...m, id: randomUUID() });
  };
}
