/** The k6 side of a slow-consumer drill: SLOW_CONSUMERS (lib/slow-consumers.ts) from the drill spec and its slow path. */
import type { SlowConsumersSpec } from './spec.js';

export function slowConsumersEnv(sc: SlowConsumersSpec, wsUrl: string): string {
  return JSON.stringify({
    share: sc.share,
    wsUrl,
    padBytes: sc.padBytes,
    ...(sc.sendIntervalS !== undefined ? { sendIntervalS: sc.sendIntervalS } : {}),
    ...(sc.fanoutP95Ms !== undefined ? { fanoutP95Ms: sc.fanoutP95Ms } : {}),
    ...(sc.fanoutDeliveryMin !== undefined ? { fanoutDeliveryMin: sc.fanoutDeliveryMin } : {}),
    ...(sc.echoP95Ms !== undefined ? { echoP95Ms: sc.echoP95Ms } : {}),
  });
}
