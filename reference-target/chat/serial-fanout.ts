/**
 * The `serial-fanout` flaw: the real chat's fan-out as the contract describes it. Each published message is
 * written to the room's sockets one after another, under one lock per room, and each write waits until the
 * socket has taken it (Node's write callback: the bytes are in the kernel) or the write deadline passes
 * (TARGET_FLAW_WRITE_DEADLINE_MS, default 5000 ms, the real chat's). A subscriber that stops reading fills its
 * socket's kernel buffers; from then on every message of the room waits a full deadline for it, and every other
 * subscriber of the room (the sender's own echo included) waits behind it.
 *
 * The healthy reference target writes to every socket at once (ws queues what a slow socket cannot take yet).
 */
import type { WebSocket } from 'ws';

export const DEFAULT_WRITE_DEADLINE_MS = 5000;

/** Resolves when the socket has taken the frame, or after `deadlineMs` (the frame stays queued: Node cannot take it back). */
export function writeWithDeadline(ws: WebSocket, frame: string, deadlineMs: number): Promise<'written' | 'deadline'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('deadline'), deadlineMs);
    ws.send(frame, () => {
      clearTimeout(timer);
      resolve('written');
    });
  });
}

export class SerialFanout {
  /** Per room: the tail of its write queue (the lock). */
  private readonly tails = new Map<string, Promise<void>>();
  deadlines = 0;

  constructor(private readonly deadlineMs = DEFAULT_WRITE_DEADLINE_MS) {}

  /** Queues one message for the room's sockets (a snapshot of them now), behind every earlier message of the room. */
  deliver(channel: string, sockets: readonly WebSocket[], frame: string): void {
    const prev = this.tails.get(channel) ?? Promise.resolve();
    const next = prev.then(async () => {
      for (const ws of sockets) {
        if (ws.readyState !== 1) continue;
        if ((await writeWithDeadline(ws, frame, this.deadlineMs)) === 'deadline') this.deadlines += 1;
      }
    });
    this.tails.set(channel, next);
    void next.finally(() => {
      if (this.tails.get(channel) === next) this.tails.delete(channel);
    });
  }
}
