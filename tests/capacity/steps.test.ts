import { describe, expect, it } from 'vitest';
import { stepSession } from '../../capacity/sockets.js';
import { maxSteadySockets, nextStep, socketCap, socketSteps, unsteadyReasons, type StepFacts } from '../../capacity/steps.js';

const GiB = 2 ** 30;
const facts = (sockets: number, over: Partial<StepFacts> = {}): StepFacts => ({
  sockets,
  deliveryP95Ms: 5,
  deliveries: sockets,
  openFailed: 0,
  closedEarly: 0,
  echoTimeouts: 0,
  peakRssBytes: sockets * 200 * 1024,
  wallMs: 25_000,
  ...over,
});
const bounds = { deliveryP95Ms: 50, memoryCapBytes: 6 * GiB };
const limits = { memoryCapBytes: 6 * GiB, timeCapMs: 300_000 };
const judged = (f: StepFacts) => ({ ...f, reasons: unsteadyReasons(f, bounds) });

describe('socket steps', () => {
  it('double from 250 in whole VUs of sockets up to the cap, the cap last', () => {
    expect(socketSteps(16_000, 50)).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000]);
    expect(socketSteps(3000, 50)).toEqual([250, 500, 1000, 2000, 3000]);
    expect(socketSteps(3020, 50)).toEqual([250, 500, 1000, 2000, 3000]);
    expect(socketSteps(100, 50)).toEqual([100]);
    expect(socketSteps(10, 50)).toEqual([50]);
  });

  it('a step is steady only with deliveries, p95 within the bound, no failed, early-closed or timed-out socket, RSS under the cap', () => {
    expect(unsteadyReasons(facts(1000), bounds)).toEqual([]);
    expect(unsteadyReasons(facts(1000, { deliveryP95Ms: 50 }), bounds)).toEqual([]);
    expect(unsteadyReasons(facts(1000, { deliveryP95Ms: 50.1 }), bounds)).toEqual(['delivery p95 50.1 ms > 50 ms']);
    expect(unsteadyReasons(facts(1000, { deliveries: 0, deliveryP95Ms: null }), bounds)).toEqual(['no deliveries measured']);
    expect(unsteadyReasons(facts(1000, { openFailed: 3 }), bounds)).toEqual(['3 socket(s) failed to open']);
    expect(unsteadyReasons(facts(1000, { closedEarly: 1 }), bounds)).toEqual(['1 socket(s) closed early']);
    expect(unsteadyReasons(facts(1000, { echoTimeouts: 2 }), bounds)).toEqual(['2 echo timeout(s)']);
    expect(unsteadyReasons(facts(1000, { peakRssBytes: 7 * GiB }), bounds)).toEqual(['k6 RSS 7168 MiB > cap 6144 MiB']);
  });

  it('runs the first step, the next while steady, one step halfway back after the first unsteady one, then stops', () => {
    const steps = socketSteps(16_000, 50);
    expect(nextStep(steps, [], 0, limits, 'cap', 50)).toEqual({ run: 250 });
    expect(nextStep(steps, [judged(facts(250))], 25_000, limits, 'cap', 50)).toEqual({ run: 500 });
    const broke = [judged(facts(250)), judged(facts(500)), judged(facts(1000)), judged(facts(2000, { deliveryP95Ms: 70 }))];
    expect(nextStep(steps, broke, 100_000, limits, 'cap', 50)).toEqual({ run: 1500 });
    expect(maxSteadySockets(broke)).toBe(1000);
    const why = '2000 sockets not steady: delivery p95 70.0 ms > 50 ms';
    const midSteady = [...broke, judged(facts(1500))];
    expect(nextStep(steps, midSteady, 125_000, limits, 'cap', 50)).toEqual({ stop: `${why}; 1500 sockets steady` });
    expect(maxSteadySockets(midSteady)).toBe(1500);
    const midBroke = [...broke, judged(facts(1500, { openFailed: 2 }))];
    expect(nextStep(steps, midBroke, 125_000, limits, 'cap', 50)).toEqual({ stop: `${why}; 1500 sockets not steady either: 2 socket(s) failed to open` });
    expect(maxSteadySockets(midBroke)).toBe(1000);
    // no halfway step when the first step breaks, when there is no whole VU in between, or no time left
    expect(nextStep(steps, [judged(facts(250, { openFailed: 1 }))], 25_000, limits, 'cap', 50)).toEqual({ stop: '250 sockets not steady: 1 socket(s) failed to open' });
    expect(nextStep([50, 100], [judged(facts(50)), judged(facts(100, { echoTimeouts: 1 }))], 50_000, limits, 'cap', 50)).toEqual({ stop: '100 sockets not steady: 1 echo timeout(s)' });
    expect(nextStep(steps, broke, 290_000, limits, 'cap', 50)).toEqual({ stop: why });
  });

  it('stops at the socket cap, and before a step that would cross the memory or the time cap', () => {
    expect(nextStep([250, 500], [judged(facts(250)), judged(facts(500))], 50_000, limits, '--max-sockets 500', 50)).toEqual({ stop: 'reached the socket cap (--max-sockets 500)' });
    // 4000 sockets at 1 GiB → 8000 would need ~2 GiB; at 4 GiB → ~8 GiB > 6 GiB.
    const steps = socketSteps(16_000, 50);
    const upTo4000 = steps.slice(0, 5).map((n) => judged(facts(n)));
    expect(nextStep(steps, upTo4000, 100_000, limits, 'cap', 50)).toEqual({ run: 8000 });
    const heavy = [...upTo4000.slice(0, 4), judged(facts(4000, { peakRssBytes: 4 * GiB }))];
    expect(nextStep(steps, heavy, 100_000, limits, 'cap', 50)).toEqual({ stop: 'memory cap: 8000 sockets would need ~8192 MiB of k6 RSS > 6144 MiB' });
    // 280 s spent, the last step took 25 s: the next would end after the 300 s cap.
    expect(nextStep(steps, upTo4000, 280_000, limits, 'cap', 50)).toEqual({ stop: 'time cap: 8000 sockets would end the socket part after 300 s' });
  });

  it('the socket cap: --max-sockets, or the open-files limit when lower', () => {
    expect(socketCap(16_000, 20_000, 50)).toEqual({ max: 16_000, reason: '--max-sockets 16000' });
    expect(socketCap(16_000, 10_000, 50)).toEqual({ max: 9000, reason: 'open-files limit 10000 (ulimit -n)' });
    expect(socketCap(16_000, undefined, 50)).toEqual({ max: 16_000, reason: '--max-sockets 16000' });
  });

  it('a step session is the stage-3 profile with DURATION six times the session: 20 to 60 s', () => {
    expect(stepSession(2)).toEqual({ sessionS: 20, profileDurationS: 120, socketsPerVu: 50, sendIntervalS: 10 });
    expect(stepSession(30).sessionS).toBe(30);
    expect(stepSession(120).sessionS).toBe(60);
  });
});
