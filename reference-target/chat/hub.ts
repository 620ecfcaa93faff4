/**
 * Fan-out between chat instances: Redis pub/sub channel `tenant:{t}:room:{r}`. Each instance subscribes to the
 * channels of the rooms it has sockets in and forwards every published frame to those sockets. Redis is one
 * server (REDIS_URL) or the primary that Redis Sentinel names (REDIS_SENTINELS).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { WebSocket } from 'ws';
import { parseEvery, parseFlaws } from '../flaws.js';
import { DEFAULT_WRITE_DEADLINE_MS, SerialFanout } from './serial-fanout.js';

export function roomChannel(tenantId: string, roomId: string): string {
  return `tenant:${tenantId}:room:${roomId}`;
}

export interface Member {
  ws: WebSocket;
  userId: string;
}

export interface HubOptions {
  /** Flaw serial-fanout: write deadline per socket (ms); unset: every socket is written at once. */
  serialFanoutDeadlineMs?: number;
  /** Flaw no-resubscribe: false. The subscriber subscribes its channels again after a reconnect (ioredis autoResubscribe). */
  resubscribe: boolean;
}

/** The hub's flaws from TARGET_FLAWS (serial-fanout, no-resubscribe). */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv): HubOptions {
  const flaws = parseFlaws(env['TARGET_FLAWS']);
  return {
    resubscribe: !flaws.includes('no-resubscribe'),
    ...(flaws.includes('serial-fanout')
      ? { serialFanoutDeadlineMs: parseEvery('TARGET_FLAW_WRITE_DEADLINE_MS', env['TARGET_FLAW_WRITE_DEADLINE_MS'], DEFAULT_WRITE_DEADLINE_MS) }
      : {}),
  };
}

/** A redis:// URL, or the sentinels to ask for the current primary of `masterName`. */
export type RedisAddress = string | { sentinels: string; masterName: string };

/**
 * One ioredis connection. Through Sentinel: it asks the sentinels for the primary, follows a promotion at once
 * (failoverDetector: the sentinels' +switch-master), and reconnects when a demoted primary answers READONLY.
 */
export function connectRedis(a: RedisAddress, o: RedisOptions): Redis {
  if (typeof a === 'string') return new Redis(a, o);
  const sentinels = a.sentinels.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
  return new Redis({ ...o, sentinels, name: a.masterName, failoverDetector: true, reconnectOnError: (err) => err.message.startsWith('READONLY') });
}

export class RoomHub {
  private readonly rooms = new Map<string, Set<Member>>();
  private readonly subscribing = new Map<string, Promise<unknown>>();
  readonly pub: Redis;
  private readonly sub: Redis;
  private readonly serial: SerialFanout | undefined;

  constructor(redis: RedisAddress, opts: HubOptions = hubOptionsFromEnv(process.env)) {
    this.pub = connectRedis(redis, { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: false });
    this.sub = connectRedis(redis, { maxRetriesPerRequest: 2, autoResubscribe: opts.resubscribe });
    this.serial = opts.serialFanoutDeadlineMs !== undefined ? new SerialFanout(opts.serialFanoutDeadlineMs) : undefined;
    for (const r of [this.pub, this.sub]) r.on('error', (err: Error) => process.stderr.write(`redis: ${err.message}\n`));
    this.sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  /** Adds a socket to a room; resolves once this instance is subscribed to the room's channel. */
  async join(channel: string, m: Member): Promise<void> {
    let set = this.rooms.get(channel);
    if (!set) {
      set = new Set();
      this.rooms.set(channel, set);
    }
    set.add(m);
    let p = this.subscribing.get(channel);
    if (!p) {
      p = this.sub.subscribe(channel);
      this.subscribing.set(channel, p);
    }
    await p;
  }

  leave(channel: string, m: Member): void {
    const set = this.rooms.get(channel);
    if (!set) return;
    set.delete(m);
    if (set.size === 0) {
      this.rooms.delete(channel);
      this.subscribing.delete(channel);
      this.sub.unsubscribe(channel).catch(() => undefined);
    }
  }

  /** Sockets of the room on this instance. */
  localSockets(channel: string): number {
    return this.rooms.get(channel)?.size ?? 0;
  }

  /** Sends a frame to this instance's sockets of the room but one, `ms` later (the reorder-fanout flaw). */
  deliverLocalLater(channel: string, frame: string, except: WebSocket, ms: number): void {
    setTimeout(() => {
      for (const m of this.rooms.get(channel) ?? []) if (m.ws !== except && m.ws.readyState === 1) m.ws.send(frame);
    }, ms).unref();
  }

  async publish(channel: string, frame: string): Promise<void> {
    await this.pub.publish(channel, frame);
  }

  private deliver(channel: string, message: string): void {
    const set = this.rooms.get(channel);
    if (!set) return;
    // Signalling frames go to everyone in the room but the sender; message frames to everyone (the echo is the ack).
    let skipUser: string | undefined;
    if (message.startsWith('{"type":"signal_')) {
      try {
        skipUser = (JSON.parse(message) as { user_id?: string }).user_id;
      } catch {
        /* deliver as is */
      }
    }
    const to = [...set].filter((m) => skipUser === undefined || m.userId !== skipUser).map((m) => m.ws);
    if (this.serial) return this.serial.deliver(channel, to, message);
    for (const ws of to) if (ws.readyState === 1) ws.send(message);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }
}
