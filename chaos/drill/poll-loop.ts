/**
 * The drill watchers' one poll loop: every `everyMs` each probe is checked on its own (a probe whose last check
 * has not answered yet is skipped, so a hanging endpoint never slows the others), and its answer goes into its
 * timeline. The readiness watcher (steady.ts) and the serving watcher (serving.ts) differ only in what a check is.
 */
import { TimelineRecorder } from './timeline.js';

/** One polled endpoint of one component. */
export interface Probe {
  node: string;
  url: string;
  timeline: TimelineRecorder;
  inFlight: boolean;
}

export function probeOf(node: string, url: string): Probe {
  return { node, url, timeline: new TimelineRecorder(), inFlight: false };
}

export class PollLoop {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probes: readonly Probe[],
    private readonly everyMs: number,
    /** true: the probe's state is good (ready, live, serving). Never rejects. */
    private readonly check: (p: Probe) => Promise<boolean>,
  ) {}

  start(): void {
    const tick = () => {
      for (const p of this.probes) {
        if (p.inFlight) continue;
        p.inFlight = true;
        void this.check(p).then((ok) => {
          p.timeline.record(ok);
          p.inFlight = false;
        });
      }
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
  }

  /** Stops polling and closes every timeline with its last state. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const p of this.probes) p.timeline.close();
  }
}
