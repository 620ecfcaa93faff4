/** Progress lines: `HH:MM:SS.mmm [step] message`, on stderr so stdout stays for results a script may parse. */
export type LogFn = (message: string) => void;

export function timeOfDay(date = new Date()): string {
  return date.toISOString().slice(11, 23);
}

export function progress(step: string, sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): LogFn {
  return (message) => sink(`${timeOfDay()} [${step}] ${message}`);
}

/** Milliseconds since `start` as seconds with one decimal, for progress lines. */
export function secondsSince(start: number): string {
  return ((Date.now() - start) / 1000).toFixed(1) + ' s';
}
