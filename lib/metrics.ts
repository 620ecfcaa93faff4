/**
 * Custom metrics (catalogue in lib/README.md). Created once per VU at init. Every sample carries `phase`;
 * k6 adds `scenario` itself.
 */
import { Counter, Rate, Trend } from 'k6/metrics';

/** 1 per message store attempt: REST POST → 201, WS send → own echo. Tags: transport (rest|ws), phase. */
export const messageStoreSuccess = new Rate('message_store_success');
/** ms, successful stores only: REST POST duration / WS send → own echo. Tags: transport, phase. */
export const messageStoreLatency = new Trend('message_store_latency', true);
/** ms, WS send → own echo (sender's view of delivery). Tags: phase. */
export const wsDeliveryLatency = new Trend('ws_delivery_latency', true);
/** ms, hot room: send (time in the marker) → receipt at each other subscriber. Tags: phase. */
export const wsFanoutLatency = new Trend('ws_fanout_latency', true);
/** hot room: 1 per (acknowledged message × subscriber connected when it was sent): 1 delivered, 0 missing. */
export const wsFanoutDelivery = new Rate('ws_fanout_delivery');
/** error frames received. Tags: error (persist|duplicate|body|unauthorized|other), phase. */
export const wsErrorFrames = new Counter('ws_error_frames');
/** sends with neither an echo nor an error frame within the ack timeout (outcome unknown). */
export const wsEchoTimeouts = new Counter('ws_echo_timeout');
/** connection attempts that never opened (refused, 4xx/5xx on upgrade, open timeout): first opens and reconnects. */
export const wsOpenFailed = new Counter('ws_open_failed');
/** open connections closed by the server or the network before their planned end (each one, reconnected or not). */
export const wsClosedEarly = new Counter('ws_closed_early');
/** 1 per socket: opened, did not give up, and no disconnection lasted longer than the reconnect policy's gapOkMs. */
export const wsSessionOk = new Rate('ws_session_ok');
/** a room socket opened again after an unplanned close or a failed open. Tags: phase (of the disconnection). */
export const wsReconnects = new Counter('ws_reconnects');
/** ms, unplanned close (or the start of a failed first open) → the replacement open. Tags: phase (of the disconnection). */
export const wsReconnectMs = new Trend('ws_reconnect_ms', true);
/** hot room: messages a subscriber never received because they were sent while it was disconnected (seq gap across a reconnect). */
export const wsMissedMessages = new Counter('ws_missed_messages');
/** hot room: a subscriber got a sender's seq lower than one it already had from that sender. */
export const hotRoomOutOfOrder = new Counter('hot_room_out_of_order');
/** hot room: acknowledged messages of the VU's own publisher that a subscriber connected at the time never got. */
export const hotRoomMissing = new Counter('hot_room_missing');
/** hot room: a subscriber got the same marker twice. */
export const hotRoomDuplicates = new Counter('hot_room_duplicates');
/** a retry answered `duplicate client_msg_id`: the message was stored by an earlier attempt (acknowledged now). */
export const wsAckViaDuplicate = new Counter('ws_ack_via_duplicate');
/** ms, hot room with slow consumers: how late a hot-room VU's 100 ms tick fired (the load generator's own stall). Tags: phase. */
export const generatorLag = new Trend('generator_lag', true);
/** ms, hot room with slow consumers: ws_fanout_latency corrected for coordinated omission (lib/slow-consumers.ts). Tags: phase, consumer. */
export const hotRoomFanoutCo = new Trend('hot_room_fanout_co', true);
/** ms, hot room with slow consumers: first send → echo (or give-up), corrected for coordinated omission. Tags: phase. */
export const hotRoomEchoCo = new Trend('hot_room_echo_co', true);
/** 1 per setup() run: admin login and fixtures created. */
export const setupOk = new Rate('suite_setup_ok');
/**
 * 1 per scheduled WS send (ws part): 1 = skipped because the socket still waited for an answer (echo, error
 * frame or a repeat's answer), 0 = sent. `passes` counts the skipped sends: a slow target cannot lower the
 * offered load unseen. Tags: phase.
 */
export const wsSendsSkipped = new Rate('ws_sends_skipped');
/**
 * hot room: 1 per scheduled publisher slot that was sent or skipped (lib/send-pattern.ts PublisherSlots): 1 = its
 * message was due while the publisher still awaited the previous one's answer and its window passed, 0 = a message
 * started in it. Reported (the hot room's offered load), not judged. Tags: phase (of the slot's time).
 */
export const hotRoomSendsSkipped = new Rate('hot_room_sends_skipped');
/** 1 per idempotency repeat (lib/idempotency.ts). Tags: answer (refused|accepted|error|timeout), phase. */
export const wsRepeatAnswers = new Counter('ws_repeat_answers');
/**
 * REST part: 1 per message posted then listed in the same iteration whose list answer could show it (found, or the
 * whole room in one page without next_cursor): 1 = the just-stored message was missing, 0 = it was there.
 */
export const readAfterWriteMiss = new Rate('read_after_write_miss');
/**
 * Bad-request storm (lib/storm.ts): 1 per bad request sent. Tags: kind (lib/storm-plan.ts STORM_KINDS), service,
 * answer (refused = 4xx or an error frame, as the contract asks | server_error = 5xx | accepted = 2xx or a socket
 * that opened | none = no answer in time), phase; not_member requests also room (existing: a room the sender is not
 * in | missing: a room that does not exist).
 */
export const stormAnswers = new Counter('storm_answers');
