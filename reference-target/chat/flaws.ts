/**
 * chat's flaws (TARGET_FLAWS): lose-messages and drop-fanout, each deterministic every Nth message write of this
 * instance (TARGET_FLAW_LOSE_EVERY, TARGET_FLAW_DROP_FANOUT_EVERY). A bad value throws a one-line Error.
 */
import { DEFAULT_DROP_FANOUT_EVERY, DEFAULT_LOSE_EVERY, parseEvery, parseFlaws } from '../flaws.js';

export interface ChatFlaws {
  /** lose-messages: every Nth write is acknowledged without being stored. */
  loseEvery?: number;
  /** drop-fanout: every Nth message of a room reaches its sender's socket only (WS) or no socket (REST). */
  dropFanoutEvery?: number;
}

export function chatFlawsFromEnv(env: NodeJS.ProcessEnv): ChatFlaws {
  const flaws = parseFlaws(env['TARGET_FLAWS']);
  return {
    ...(flaws.includes('lose-messages') ? { loseEvery: parseEvery('TARGET_FLAW_LOSE_EVERY', env['TARGET_FLAW_LOSE_EVERY'], DEFAULT_LOSE_EVERY) } : {}),
    ...(flaws.includes('drop-fanout')
      ? { dropFanoutEvery: parseEvery('TARGET_FLAW_DROP_FANOUT_EVERY', env['TARGET_FLAW_DROP_FANOUT_EVERY'], DEFAULT_DROP_FANOUT_EVERY) }
      : {}),
  };
}
