/**
 * Fanning a stored message out to its room through Redis (RoomHub), with the drop-fanout flaw. A failed publish
 * is logged, not thrown: the message is stored and already acknowledged to its sender by the caller's answer.
 */
import type { RoomHub } from './hub.js';
import { fanoutFrame, type StoredMessage } from './message.js';

export class MessageFanout {
  private readonly perRoom = new Map<string, number>();

  constructor(
    private readonly hub: RoomHub,
    private readonly instanceName: string,
    private readonly dropEvery: number | undefined,
  ) {}

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
