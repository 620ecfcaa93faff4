/**
 * Fanning a stored message out to its room through Redis (RoomHub), with the drop-fanout flaw. A failed publish
 * is logged, not thrown: the message is stored and already acknowledged to its sender by the caller's answer.
 */
import type { WebSocket } from 'ws';
import { everyNth } from '../flaws.js';
import type { ChatFlaws } from './flaws.js';
import type { RoomHub } from './hub.js';
import { fanoutFrame, type StoredMessage } from './message.js';

export class MessageFanout {
  private readonly perRoom = new Map<string, number>();
  private readonly perRoomAll = new Map<string, number>();
  private readonly dropEvery: number | undefined;
  /** WS messages stored in small rooms on this instance (sender-only-fanout). */
  private smallRoomMessages = 0;

  constructor(
    private readonly hub: RoomHub,
    private readonly instanceName: string,
    private readonly flaws: ChatFlaws = {},
  ) {
    this.dropEvery = flaws.dropFanoutEvery;
  }

  /** The nth stored message of a room (1-based), for the every-Nth flaws. */
  private nthInRoom(roomId: string): number {
    const n = (this.perRoomAll.get(roomId) ?? 0) + 1;
    this.perRoomAll.set(roomId, n);
    return n;
  }

  /**
   * A message stored through a room socket goes out: to the room (Redis), or as a flaw makes it: drop-fanout and
   * sender-only-fanout to its sender's socket only, reorder-fanout to the sender at once and to this instance's
   * other sockets of the room late, double-fanout to the room twice.
   */
  async publishFromSocket(channel: string, roomId: string, msg: StoredMessage, ws: WebSocket): Promise<void> {
    const f = this.flaws;
    const frame = fanoutFrame(msg);
    const toSender = () => ws.readyState === 1 && ws.send(frame);
    if (this.dropsNext(roomId)) return void toSender();
    if (f.senderOnly && this.hub.localSockets(channel) <= f.senderOnly.smallRoom) {
      this.smallRoomMessages += 1;
      if (everyNth(this.smallRoomMessages, f.senderOnly.every, Math.floor(f.senderOnly.every / 2))) return void toSender();
    }
    const n = this.nthInRoom(roomId);
    if (f.reorder && everyNth(n, f.reorder.every)) {
      toSender();
      this.hub.deliverLocalLater(channel, frame, ws, f.reorder.delayMs);
      return;
    }
    await this.publish(channel, msg);
    if (f.doubleEvery !== undefined && everyNth(n, f.doubleEvery)) await this.publish(channel, msg);
  }

  /**
   * drop-fanout: true for every Nth stored message of a room (counted per room, so a periodic load mix cannot
   * dodge it); the caller then sends it to its sender's socket only (WS), or to no socket (REST).
   */
  dropsNext(roomId: string): boolean {
    if (this.dropEvery === undefined) return false;
    const n = (this.perRoom.get(roomId) ?? 0) + 1;
    this.perRoom.set(roomId, n);
    return n % this.dropEvery === 0;
  }

  /** Publishes the message frame on its room's channel (`roomChannel(tenant, room)`). */
  async publish(channel: string, msg: StoredMessage): Promise<void> {
    await this.hub.publish(channel, fanoutFrame(msg)).catch((err: Error) => {
      process.stderr.write(`${this.instanceName}: publish: ${err.message}\n`);
    });
  }
}
