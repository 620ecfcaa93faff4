/**
 * chat's flaws (TARGET_FLAWS, unscoped or `@chat`): lose-messages and drop-fanout, each deterministic every Nth message write of this
 * instance (TARGET_FLAW_LOSE_EVERY, TARGET_FLAW_DROP_FANOUT_EVERY). A bad value throws a one-line Error.
 */
import {
  DEFAULT_DOUBLE_FANOUT_EVERY,
  DEFAULT_DROP_FANOUT_EVERY,
  DEFAULT_LOSE_EVERY,
  DEFAULT_REORDER_DELAY_MS,
  DEFAULT_REORDER_EVERY,
  DEFAULT_SENDER_ONLY_EVERY,
  DEFAULT_SMALL_ROOM,
  flawsForService,
  parseEvery,
  parseFlaws,
} from '../flaws.js';

export interface ChatFlaws {
  /** lose-messages: every Nth write is acknowledged without being stored. */
  loseEvery?: number;
  /** drop-fanout: every Nth message of a room reaches its sender's socket only (WS) or no socket (REST). */
  dropFanoutEvery?: number;
  /** sender-only-fanout: in rooms with at most `smallRoom` local sockets, every Nth WS message (from N/2) reaches its sender only. */
  senderOnly?: { every: number; smallRoom: number };
  /** reorder-fanout: every Nth message of a room reaches the other local sockets `delayMs` late (its sender at once). */
  reorder?: { every: number; delayMs: number };
  /** double-fanout: every Nth message of a room is published twice. */
  doubleEvery?: number;
  /** ignore-client-msg-id: no dedup of repeated client_msg_id. */
  ignoreClientMsgId?: boolean;
}

export function chatFlawsFromEnv(env: NodeJS.ProcessEnv): ChatFlaws {
  const flaws = flawsForService(parseFlaws(env['TARGET_FLAWS']), 'chat');
  return {
    ...(flaws.includes('lose-messages') ? { loseEvery: parseEvery('TARGET_FLAW_LOSE_EVERY', env['TARGET_FLAW_LOSE_EVERY'], DEFAULT_LOSE_EVERY) } : {}),
    ...(flaws.includes('drop-fanout')
      ? { dropFanoutEvery: parseEvery('TARGET_FLAW_DROP_FANOUT_EVERY', env['TARGET_FLAW_DROP_FANOUT_EVERY'], DEFAULT_DROP_FANOUT_EVERY) }
      : {}),
    ...(flaws.includes('sender-only-fanout')
      ? { senderOnly: { every: parseEvery('TARGET_FLAW_SENDER_ONLY_EVERY', env['TARGET_FLAW_SENDER_ONLY_EVERY'], DEFAULT_SENDER_ONLY_EVERY), smallRoom: parseEvery('TARGET_FLAW_SMALL_ROOM', env['TARGET_FLAW_SMALL_ROOM'], DEFAULT_SMALL_ROOM) } }
      : {}),
    ...(flaws.includes('reorder-fanout')
      ? { reorder: { every: parseEvery('TARGET_FLAW_REORDER_EVERY', env['TARGET_FLAW_REORDER_EVERY'], DEFAULT_REORDER_EVERY), delayMs: parseEvery('TARGET_FLAW_REORDER_DELAY_MS', env['TARGET_FLAW_REORDER_DELAY_MS'], DEFAULT_REORDER_DELAY_MS) } }
      : {}),
    ...(flaws.includes('double-fanout') ? { doubleEvery: parseEvery('TARGET_FLAW_DOUBLE_FANOUT_EVERY', env['TARGET_FLAW_DOUBLE_FANOUT_EVERY'], DEFAULT_DOUBLE_FANOUT_EVERY) } : {}),
    ...(flaws.includes('ignore-client-msg-id') ? { ignoreClientMsgId: true } : {}),
  };
}
