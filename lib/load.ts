/**
 * The three load parts as VU functions: restIteration (one REST iteration), wsSession (one VU session of room
 * sockets sending and awaiting their own echo), hotRoomSession (one publisher + many subscribers in the hot room).
 * Every loop is bounded in count and in time.
 */
import { sleep } from 'k6';
import exec from 'k6/execution';
import { clearInterval, setInterval } from 'k6/timers';
import type { SuiteConfig } from './config.js';
import { formatMarker, messageBody, senderKey, type Marker } from './marker.js';
import {
  hotRoomDuplicates,
  hotRoomMissing,
  hotRoomOutOfOrder,
  messageStoreLatency,
  messageStoreSuccess,
  wsFanoutDelivery,
  wsFanoutLatency,
  wsMissedMessages,
  wsSessionOk,
  generatorLag,
  hotRoomEchoCo,
  hotRoomFanoutCo,
  wsSendsSkipped,
  hotRoomSendsSkipped,
  readAfterWriteMiss,
} from './metrics.js';
import { phaseClock, phaseTags, storeTags } from './phase.js';
import type { Phase } from './types.js';
import { hotRoomTailMs, type Profile } from './profiles.js';
import { pick, restActions } from './rest-plan.js';
import { pageHasCursor } from './page-text.js';
import { ChatApi, decodeCall } from './rest.js';
import type { Identity, SetupData } from './setup.js';
import { MessageSender, RoomSocket } from './ws.js';
import { withMeta } from './history.js';
import { judgeDelivery, SubscriberLog } from './fanout.js';
import { coCorrected, padding, slowPerVu } from './slow-consumers.js';
import { msaIteration } from './msa.js';
import { DeliveryDigest, streamKey } from './delivery-digest.js';
import { RepeatProbe } from './idempotency.js';
import { Burst, PublisherSlots } from './send-pattern.js';
import type { Call, Page, StoredMessage } from './rest.js';

export interface Ctx {
  cfg: SuiteConfig;
  profile: Profile;
}

const TICK_MS = 100;
const OPEN_TIMEOUT_MS = 10_000;

let clockFor: { start: number; fn: (atMs?: number) => Phase } | undefined;

/** The phase clock of this VU (bound to the load start in setup data). */
function clock(ctx: Ctx, data: SetupData): (atMs?: number) => Phase {
  if (!clockFor || clockFor.start !== data.loadStartMs) {
    clockFor = { start: data.loadStartMs, fn: phaseClock(data.loadStartMs, ctx.cfg.faultWindows) };
  }
  return clockFor.fn;
}

function identities(data: SetupData): Identity[] {
  if (data.users.length > 0) return data.users;
  return data.admin ? [data.admin] : [];
}

/** This VU's id in the test, looked up once (`exec.vu` builds its whole info object on every access, ~10 µs). */
let vuId: number | undefined;
function vuIdInTest(): number {
  return (vuId ??= exec.vu.idInTest);
}

function markerBase(ctx: Ctx, data: SetupData, src: Marker['src'], sock: number, iter = exec.vu.iterationInScenario): Omit<Marker, 'seq'> {
  return { run: data.runId, inst: ctx.cfg.instance, src, vu: vuIdInTest(), iter, sock };
}

// ------------------------------------------------------------------------------------------------ REST

export function restIteration(ctx: Ctx, data: SetupData): void {
  const phase = clock(ctx, data);
  const r = ctx.profile.rest!;
  if (!data.ready) return stopBeforeLoad(data);
  const n = exec.scenario.iterationInTest;
  const who = pick(identities(data), n)!;
  const roomId = pick(data.rooms.rest, n)!;
  const apis = restApisFor(ctx, phase, r.timeoutS);
  const api = apis.as(who.token);
  const a = restActions(n);

  let posted: { marker: string; at: number } | undefined;
  if (a.post) {
    const marker: Marker = { run: data.runId, inst: ctx.cfg.instance, src: 'r', vu: vuIdInTest(), iter: restIterations++, sock: 0, seq: 0 };
    const id = formatMarker(marker);
    const sentAt = Date.now();
    const res = api.postMessage(roomId, messageBody(marker, sentAt));
    const tags = storeTags('rest', phase(sentAt));
    // No answer (timeout, reset) = unknown: the message may be stored. Any answer but 201 = failed.
    const outcome = res.ok ? 'acked' : res.status === 0 ? 'unknown' : 'failed';
    withMeta({ marker: id, room: roomId, sender: who.userId, outcome, detail: res.status }, () => messageStoreSuccess.add(res.ok, tags));
    // no metadata on the latency: the integrity check reads a store's facts from message_store_success only
    if (res.ok) messageStoreLatency.add(res.durationMs, tags);
    if (res.ok) posted = { marker: id, at: sentAt };
  }
  if (a.list) {
    // the first page is decoded only to page on with its cursor or when the marker is not found in its text
    const page = api.listMessages(roomId, 50, undefined, a.listNextPage);
    const next = a.listNextPage && page.ok && page.data?.next_cursor ? api.listMessages(roomId, 50, page.data.next_cursor, false) : undefined;
    if (posted) readAfterWrite(posted, roomId, next ? [page, next] : [page], phase);
  }
  if (a.listRooms) api.listRooms(50);
  if (a.createRoom) {
    const room = api.createRoom(`k6 ${data.runId} extra ${n}`);
    const other = pick(identities(data), n + 1);
    if (room.ok && room.data && other && other.userId !== who.userId) api.addMember(room.data.id, other.userId);
  }
  if (a.login) apis.base.login(ctx.cfg.tenantId, ctx.cfg.loginEmail, ctx.cfg.loginPassword);
}

/**
 * This VU's REST iterations so far: the `iter` of its markers (unique per VU, as exec.vu.iterationInScenario is,
 * without building k6's VU info object on every iteration: ~6 % of the suite's REST CPU in a profile).
 */
let restIterations = 0;

/** This VU's ChatApi clients, one per token, made once (not two objects per iteration). */
let restApis: { phase: (atMs?: number) => Phase; base: ChatApi; as(token: string): ChatApi } | undefined;
function restApisFor(ctx: Ctx, phase: (atMs?: number) => Phase, timeoutS: number): NonNullable<typeof restApis> {
  if (restApis?.phase === phase) return restApis;
  const base = new ChatApi({ chatUrl: ctx.cfg.chatUrl, authUrl: ctx.cfg.authUrl, timeoutS, phase });
  const byToken = new Map<string, ChatApi>();
  const as = (token: string): ChatApi => {
    let api = byToken.get(token);
    if (!api) byToken.set(token, (api = base.as(token)));
    return api;
  };
  return (restApis = { phase, base, as });
}

// ------------------------------------------------------------------------------------------------ msa

/** One iteration of the owners' MSA script (lib/msa.ts) as the admin; a failed setup stops the test before any load. */
export function msaSession(ctx: Ctx, data: SetupData): void {
  const phase = clock(ctx, data);
  if (!data.ready || !data.admin || !data.rooms.msa) return stopBeforeLoad(data);
  msaIteration(ctx.cfg, ctx.profile.msa!, { token: data.admin.token, roomId: data.rooms.msa }, phase);
}

/**
 * read_after_write_miss: was the message just stored on the list pages read right after? Judged only when the
 * pages could show it: it is there, or the last page read had no next_cursor (the whole room was read); a room
 * longer than the pages read is not judged (order inside pages is not guaranteed). Found: the page's text holds
 * `"body":"<marker> ` (the common case, no decoding); otherwise the pages are decoded and searched item by item.
 */
function readAfterWrite(posted: { marker: string; at: number }, room: string, pages: Call<Page<StoredMessage>>[], phase: (atMs?: number) => Phase): void {
  const inText = `"body":"${posted.marker} `;
  let found = pages.some((p) => p.ok && p.text !== undefined && p.text.includes(inText));
  // Not in the text of a page written compactly (`"body":"`, as the marker was searched) whose last page has a
  // cursor: not judged, without decoding the pages (a busy room's newest page often holds other writers' messages
  // only). A `"next_cursor":"…"` elsewhere in the text (a message's meta) can only leave a sample not judged,
  // never make a miss: a miss is always confirmed by decoding. Other spacing is decoded and searched as before.
  const last = pages[pages.length - 1]!;
  if (!found && last.ok && last.text !== undefined && last.text.includes('"body":"') && pageHasCursor(last.text)) return;
  if (!found) {
    for (const p of pages) decodeCall(p);
    if (!pages.every((p) => p.ok && Array.isArray(p.data?.items))) return;
    found = pages.some((p) => p.data!.items.some((m) => typeof m.body === 'string' && m.body.startsWith(`${posted.marker} `)));
    if (!found && pages[pages.length - 1]!.data!.next_cursor) return;
  }
  withMeta({ marker: posted.marker, room }, () => readAfterWriteMiss.add(!found, phaseTags(phase(posted.at))));
}

// ------------------------------------------------------------------------------------------------ WS

interface Slot {
  index: number;
  sock: RoomSocket;
  sender: MessageSender;
  probe: RepeatProbe;
  burst: Burst;
  /** Scheduled sends so far. */
  slots: number;
  nextSendMs: number;
  /** The next tick with work for this slot (0: at once, after any event of its socket). */
  dueMs: number;
}

/** When the slot next needs its tick: its socket's, sender's or probe's next deadline, or its next send. */
function slotDueMs(s: Slot, endMs: number): number {
  return Math.min(s.sock.nextDueMs(), s.sender.nextDueMs(), s.probe.nextDueMs(), s.nextSendMs < endMs ? s.nextSendMs : Number.POSITIVE_INFINITY);
}

/**
 * A fixture the run cannot do without failed in setup (admin login, rooms): the test stops before any load is
 * sent, with setup's reason (k6 exits 108; the runner reports the setup failures and exits 1).
 */
function stopBeforeLoad(data: SetupData): void {
  exec.test.abort(`setup failed, no load sent: ${data.reason ?? 'setup not ready'}`);
}

/** The slot's next message now, if its socket is idle: false when it had to skip (still waiting for an answer). */
function sendIfIdle(s: Slot, now: number): boolean {
  if (s.sender.busy || s.probe.inFlight) return false;
  s.sender.sendNext(now);
  return true;
}

/** Sockets that never get a chance (setup failed) still count as failed sessions, so ws_session_ok breaks. */
function notReady(sockets: number, phase: Phase): void {
  for (let i = 0; i < sockets; i++) wsSessionOk.add(false, { phase });
  messageStoreSuccess.add(false, { transport: 'ws', phase });
  sleep(1);
}

export function wsSession(ctx: Ctx, data: SetupData): void {
  const phase = clock(ctx, data);
  const w = ctx.profile.ws!;
  if (!data.ready) return stopBeforeLoad(data);
  const ids = identities(data);
  const vu = vuIdInTest();
  const start = Date.now();
  const endMs = start + w.sessionS * 1000;
  const ackMs = w.ackTimeoutS * 1000;
  const hardEndMs = endMs + ackMs + 10_000;
  const intervalMs = w.sendIntervalS * 1000;
  const slots: Slot[] = [];

  const open = (index: number): Slot => {
    const k = vu * w.socketsPerVu + index;
    const who = pick(ids, k)!;
    const roomId = pick(data.rooms.ws, k)!;
    let slot: Slot;
    const base = markerBase(ctx, data, 'w', index);
    const ownStream = streamKey(base);
    // One socket per slot for the whole session: after an unplanned close it reconnects with backoff (same room,
    // same user, same sender stream); the message in flight then has an unknown outcome (a failed store).
    // Every marked frame it gets (room-mates' messages too) goes into its delivery digest.
    const sock = new RoomSocket(
      {
        wsUrl: ctx.cfg.wsUrl,
        roomId,
        token: who.token,
        phase,
        openTimeoutMs: OPEN_TIMEOUT_MS,
        label: senderKey({ ...base, seq: 0 }),
        reconnect: ctx.profile.reconnect,
        plannedEndMs: endMs,
        digest: new DeliveryDigest(),
      },
      {
        // the own stream's frames while a message or a repeat is in flight (then decoded and matched exactly)
        wants: (_raw, r) => r.key === ownStream && (slot.sender.busy || slot.probe.inFlight),
        onOpen: () => {
          slot.dueMs = 0;
        },
        onMarked: (_s, parsed, _f, recvMs) => {
          slot.dueMs = 0;
          if (slot.probe.onMarked(parsed) || !slot.sender.onMarked(parsed, recvMs)) return;
          // An echo: the next message of a burst goes out at once (back to back, still one in flight).
          if (recvMs < endMs && slot.burst.takeNext()) sendIfIdle(slot, recvMs);
        },
        onErrorFrame: (_s, _t, kind) => {
          slot.dueMs = 0;
          if (slot.probe.onErrorFrame(kind)) return;
          slot.burst.cancel();
          slot.sender.onErrorFrame(kind);
        },
        onDisconnect: () => {
          slot.dueMs = 0;
          slot.burst.cancel();
          slot.probe.abandon();
          slot.sender.abandon();
        },
        onClose: () => {
          slot.dueMs = 0;
          slot.probe.abandon();
          slot.sender.abandon();
        },
      },
    );
    const probeOpts = { every: w.repeatEvery, first: index === 0, delayMs: 200, lateDelayMs: 2000, timeoutMs: ackMs, phase, room: roomId, sender: who.userId };
    const probe = new RepeatProbe(sock, probeOpts);
    const sender = new MessageSender(sock, base, { ackTimeoutMs: ackMs, maxRetries: 0, phase, room: roomId, sender: who.userId, onAcked: (m) => probe.onAcked(m) });
    // Stagger first sends over one interval so sockets do not send in lockstep.
    slot = { index, sock, sender, probe, burst: new Burst(w.burst), slots: 0, nextSendMs: start + (intervalMs * (index + 1)) / (w.socketsPerVu + 1), dueMs: 0 };
    return slot;
  };

  for (let i = 0; i < w.socketsPerVu; i++) slots.push(open(i));

  // Every tick visits only the slots with something due (a deadline, a send, or an event of their socket since):
  // most ticks of a 50-socket VU have none. An indexed loop: for...of costs ~4x as much in k6's runtime.
  const timer = setInterval(() => {
    const now = Date.now();
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      if (now < s.dueMs) continue;
      s.sock.tick(now);
      s.sender.tick(now);
      s.probe.tick(now, !s.sender.busy);
      // A send due while only the socket's own idempotency repeat awaits its answer waits for it (the suite's
      // repeat must not count against the target); any other wait is a skipped send.
      const onlyRepeat = s.probe.inFlight && !s.sender.busy;
      if (now < endMs && now >= s.nextSendMs && !onlyRepeat) {
        // A scheduled send of an open socket is sent or counted as skipped (ws_sends_skipped).
        if (s.sock.state === 'open') {
          const sent = sendIfIdle(s, now);
          wsSendsSkipped.add(!sent, phaseTags(phase(now)));
          if (sent) s.burst.scheduled(s.slots);
          else s.burst.cancel();
        }
        s.slots += 1;
        while (s.nextSendMs <= now) s.nextSendMs += intervalMs;
      }
      s.dueMs = slotDueMs(s, endMs);
    }
    if (now < endMs) return;
    const busy = slots.some((s) => s.sender.busy || s.probe.inFlight);
    if (now >= hardEndMs || !busy) {
      for (const s of slots) s.sock.close();
      if (slots.every((s) => s.sock.state === 'closed') || now >= hardEndMs + 5000) clearInterval(timer);
    }
  }, TICK_MS);
}

// ------------------------------------------------------------------------------------------------ hot room

interface Subscriber {
  sock: RoomSocket;
  log: SubscriberLog;
  /** With slow consumers (SLOW_CONSUMERS): `slow` (hotRoomSlowSession) or `healthy`, tagged on its fan-out samples. */
  consumer?: 'slow' | 'healthy';
}


/** The options every socket of a hot-room session shares (it reconnects until the planned end of the publishing). */
function hotSockOpts(ctx: Ctx, phase: (atMs?: number) => Phase, roomId: string, start: number) {
  const h = ctx.profile.hotRoom!;
  return (token: string, label: string, wsUrl = ctx.cfg.wsUrl) => ({
    wsUrl,
    roomId,
    token,
    phase,
    openTimeoutMs: OPEN_TIMEOUT_MS,
    label,
    reconnect: ctx.profile.reconnect,
    plannedEndMs: start + 5000 + h.messagesPerPublisher * h.sendIntervalS * 1000 + h.graceS * 1000,
  });
}

/**
 * One hot-room subscriber: fan-out latency (and, with slow consumers, corrected for coordinated omission and
 * tagged `consumer`), duplicates, order, messages missed across reconnects, its delivery digest.
 */
function hotSubscriber(o: { ctx: Ctx; phase: (atMs?: number) => Phase; sockOpts: ReturnType<typeof hotSockOpts>; token: string; label: string; ownKey: string; consumer?: 'slow' | 'healthy'; onReceipt?: (recvMs: number) => void }): Subscriber {
  const { ctx, phase, consumer } = o;
  const sc = ctx.cfg.slowConsumers;
  const intervalMs = ctx.profile.hotRoom!.sendIntervalS * 1000;
  const sub: Subscriber = { sock: undefined as unknown as RoomSocket, log: new SubscriberLog(o.ownKey), ...(consumer ? { consumer } : {}) };
  const consumerTag: Record<string, string> = consumer ? { consumer } : {};
  const wsUrl = consumer === 'slow' ? sc!.wsUrl : ctx.cfg.wsUrl;
  sub.sock = new RoomSocket({ ...o.sockOpts(o.token, o.label, wsUrl), digest: new DeliveryDigest() }, {
    markerOnly: (sc?.padBytes ?? 0) > 0,
    onOpen: (_s, reopened) => {
      if (reopened) sub.log.reconnected();
    },
    onMarked: (_s, parsed, _f, recvMs) => {
      o.onReceipt?.(recvMs);
      const sendMs = parsed.sendMs;
      if (sendMs !== undefined) {
        // no metadata: each receipt is recorded in the socket's delivery digest (on ws_session_ok) instead
        wsFanoutLatency.add(Math.max(0, recvMs - sendMs), { phase: phase(sendMs), ...consumerTag });
        if (consumer) {
          for (const c of coCorrected(Math.max(0, recvMs - sendMs), intervalMs)) hotRoomFanoutCo.add(c.value, { phase: phase(sendMs + c.offsetMs), consumer });
        }
      }
      const r = sub.log.receive(senderKey(parsed.marker), parsed.marker.seq);
      if (r === 'duplicate') hotRoomDuplicates.add(1, { phase: phase() });
      else if (r === 'out_of_order') hotRoomOutOfOrder.add(1, { phase: phase() });
      const missed = sub.log.takeMissed();
      if (missed > 0) {
        const gap = sub.sock.gaps[sub.sock.gaps.length - 1];
        wsMissedMessages.add(missed, { phase: phase(gap?.downMs) });
      }
    },
  });
  return sub;
}

/**
 * With slow consumers, every hot-room VU times how late its tick fires (`generator_lag`, ms, tagged with the phase
 * the stall began in and the one it ended in): a VU whose event loop falls behind delays its own receipts, and
 * the drill marks a latency figure taken during such a stall unverified instead of charging it to the server.
 */
function lagMeter(ctx: Ctx, phase: (atMs?: number) => Phase): (now: number) => void {
  if (!ctx.cfg.slowConsumers) return () => {};
  let prev: number | undefined;
  return (now) => {
    if (prev !== undefined) {
      const lag = Math.max(0, now - prev - TICK_MS);
      const from = phase(now - lag);
      const to = phase(now);
      generatorLag.add(lag, { phase: from });
      if (to !== from) generatorLag.add(lag, { phase: to });
    }
    prev = now;
  };
}

/**
 * One publisher and the healthy subscribers of a hot-room VU. With slow consumers (SLOW_CONSUMERS) the slow share
 * of the subscribers is not here but on VUs of their own (hotRoomSlowSession): a slow socket's backlog arriving at
 * once would stall this VU's event loop, and its timings (the healthy fan-out, the echo) would charge the load
 * generator's stall to the server.
 */
export function hotRoomSession(ctx: Ctx, data: SetupData): void {
  const phase = clock(ctx, data);
  const h = ctx.profile.hotRoom!;
  if (!data.ready) return stopBeforeLoad(data);
  const sc = ctx.cfg.slowConsumers;
  const nSlow = sc ? slowPerVu(h.subscribersPerVu, sc.share) : 0;
  if (!data.rooms.hot) return notReady(1 + h.subscribersPerVu - nSlow, phase());
  const ids = identities(data);
  const vu = vuIdInTest();
  const roomId = data.rooms.hot;
  const start = Date.now();
  const ackMs = h.ackTimeoutS * 1000;
  const intervalMs = h.sendIntervalS * 1000;
  const pubBase = markerBase(ctx, data, 'h', 0);
  const ownKey = senderKey({ ...pubBase, seq: 0 });
  const sockOpts = hotSockOpts(ctx, phase, roomId, start);
  const subs: Subscriber[] = [];
  // subscriber j < nSlow is slow (on its own VU, hotRoomSlowSession); the rest are here
  for (let j = nSlow; j < h.subscribersPerVu; j++) {
    subs.push(hotSubscriber({ ctx, phase, sockOpts, token: pick(ids, vu + 1 + j)!.token, label: `${ownKey}:sub${j}`, ownKey, ...(sc ? { consumer: 'healthy' as const } : {}) }));
  }
  const lag = lagMeter(ctx, phase);

  let sender: MessageSender;
  let probe: RepeatProbe;
  const publisher = pick(ids, vu)!;
  const pubSock = new RoomSocket({ ...sockOpts(publisher.token, `${ownKey}:pub`), digest: new DeliveryDigest() }, {
    wants: (raw) => sender.mayBeEcho(raw) || probe.mayBeEcho(raw),
    onMarked: (_s, parsed, _f, recvMs) => probe.onMarked(parsed) || sender.onMarked(parsed, recvMs),
    onErrorFrame: (_s, _t, kind) => probe.onErrorFrame(kind) || sender.onErrorFrame(kind),
    onDisconnect: () => {
      probe.abandon();
      sender.abandon();
    },
    onClose: () => {
      probe.abandon();
      sender.abandon();
    },
  });
  const filler = sc ? padding(sc.padBytes) : undefined;
  probe = new RepeatProbe(pubSock, { every: h.repeatEvery, first: true, delayMs: 200, lateDelayMs: 2000, timeoutMs: ackMs, phase, room: roomId, sender: publisher.userId });
  sender = new MessageSender(pubSock, pubBase, { ackTimeoutMs: ackMs, maxRetries: h.maxRetries, phase, room: roomId, sender: publisher.userId, filler, onAcked: (m) => probe.onAcked(m) }, true);

  const all = [pubSock, ...subs.map((s) => s.sock)];
  const openWaitUntil = start + 5000;
  let pubStart: number | undefined;
  let slots: PublisherSlots | undefined;
  let scheduleEnd = 0;
  let pubDeadline = 0;
  let doneAt: number | undefined;
  let judgedUpTo = 0;
  const views = subs.map((sub) => ({ state: sub.sock, log: sub.log }));
  const tailMs = hotRoomTailMs(h);
  const hardEnd = start + 5000 + h.messagesPerPublisher * intervalMs + tailMs + h.graceS * 1000 + 5000;
  const graceMs = h.graceS * 1000;

  /**
   * Delivery of each acknowledged message of this VU's publisher, judged graceS after its acknowledgement (so an
   * interrupted or aborted run keeps what was judged), against every subscriber connected over its whole span
   * (lib/fanout.ts judgeDelivery; a subscriber disconnected meanwhile counts it in ws_missed_messages instead).
   */
  const judge = (now: number, all: boolean): void => {
    const outcomes = sender.outcomes;
    while (judgedUpTo < outcomes.length) {
      const o = outcomes[judgedUpTo]!;
      if (!all && now < o.resolvedMs + graceMs) return;
      judgedUpTo += 1;
      const tags = { phase: phase(o.firstSendMs) };
      if (sc) for (const c of coCorrected(o.resolvedMs - o.firstSendMs, intervalMs)) hotRoomEchoCo.add(c.value, { phase: phase(o.firstSendMs + c.offsetMs) });
      judgeDelivery(o, views).forEach((got, k) => {
        if (got === undefined) return;
        const c = subs[k]!.consumer;
        wsFanoutDelivery.add(got, c ? { ...tags, consumer: c } : tags);
        if (!got) hotRoomMissing.add(1, tags);
      });
    }
  };

  const timer = setInterval(() => {
    const now = Date.now();
    lag(now);
    for (const s of all) s.tick(now);
    if (pubStart === undefined) {
      const settled = all.every((s) => s.state !== 'connecting');
      if (settled || now >= openWaitUntil) {
        pubStart = now;
        slots = new PublisherSlots(now, intervalMs, h.messagesPerPublisher);
        // no message starts after its schedule's end; the one in flight then gets one ack timeout (hotRoomTailMs)
        scheduleEnd = now + h.messagesPerPublisher * intervalMs;
        pubDeadline = scheduleEnd + tailMs;
      }
    }
    judge(now, false);
    if (pubStart !== undefined && doneAt === undefined) {
      sender.tick(now);
      probe.tick(now, !sender.busy);
      // a slot is sent, or skipped when its message was due while the publisher still awaited an answer (not
      // while the socket is down or only the suite's own repeat is in flight: PublisherSlots)
      slots!.pass(now, (at) => hotRoomSendsSkipped.add(true, phaseTags(phase(at))));
      if (sender.seq < h.messagesPerPublisher && slots!.due(now) && pubSock.state === 'open' && !probe.inFlight) {
        if (sender.busy) slots!.waited();
        else if (sender.sendNext(now)) hotRoomSendsSkipped.add(false, phaseTags(phase(slots!.sent())));
      }
      const allSent = sender.seq >= h.messagesPerPublisher || now >= scheduleEnd || pubSock.state === 'closed';
      if ((allSent && !sender.busy && !probe.busy) || now >= pubDeadline) {
        probe.abandon();
        sender.abandon();
        doneAt = now;
      }
    }
    if ((doneAt !== undefined && now >= doneAt + graceMs) || now >= hardEnd) {
      judge(now, true);
      for (const s of all) s.close();
      if (all.every((s) => s.state === 'closed') || now >= hardEnd + 5000) clearInterval(timer);
    }
  }, TICK_MS);
}

/**
 * The slow subscribers of one hot-room VU (SLOW_CONSUMERS), on a VU of their own: the same room, through the slow
 * path, the same figures as before (fan-out latency tagged `consumer: slow`, duplicates, order, the delivery
 * digest the integrity check judges). Their fate is judged after the run from those digests against every
 * acknowledged hot-room message (chaos/slow-figures.ts). They stay until the publishing is over and nothing has
 * arrived for graceS (a slow socket catching up keeps receiving), bounded by the publishers' own deadline + graceS.
 */
export function hotRoomSlowSession(ctx: Ctx, data: SetupData): void {
  const phase = clock(ctx, data);
  const h = ctx.profile.hotRoom!;
  const sc = ctx.cfg.slowConsumers;
  if (!data.ready) return stopBeforeLoad(data);
  const nSlow = sc ? slowPerVu(h.subscribersPerVu, sc.share) : 0;
  if (!data.rooms.hot) return notReady(nSlow, phase());
  const ids = identities(data);
  // as many slow VUs as hot-room VUs, each with the slow share of one hot-room VU's subscribers
  const vu = vuIdInTest();
  const start = Date.now();
  const intervalMs = h.sendIntervalS * 1000;
  const graceMs = h.graceS * 1000;
  const ownKey = senderKey({ ...markerBase(ctx, data, 'h', 0), seq: 0 });
  const sockOpts = hotSockOpts(ctx, phase, data.rooms.hot, start);
  let lastReceipt = start;
  const subs: Subscriber[] = [];
  for (let j = 0; j < nSlow; j++) {
    subs.push(hotSubscriber({ ctx, phase, sockOpts, token: pick(ids, vu + 1 + j)!.token, label: `${ownKey}:slow${j}`, ownKey, consumer: 'slow', onReceipt: (t) => (lastReceipt = t) }));
  }
  // the publishers start once their sockets are open (at most 5 s): until then and while messages arrive, stay
  const publishEnd = start + h.messagesPerPublisher * intervalMs;
  const hardEnd = publishEnd + 5000 + hotRoomTailMs(h) + graceMs;
  const lag = lagMeter(ctx, phase);
  const timer = setInterval(() => {
    const now = Date.now();
    lag(now);
    for (const s of subs) s.sock.tick(now);
    if ((now >= publishEnd && now >= lastReceipt + graceMs) || now >= hardEnd) {
      for (const s of subs) s.sock.close();
      if (subs.every((s) => s.sock.state === 'closed') || now >= hardEnd + 5000) clearInterval(timer);
    }
  }, TICK_MS);
}
