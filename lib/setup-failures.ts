/**
 * The failed calls of setup(), grouped: which fixture, which call, what status and error text, how many times,
 * whether the run can do without it (and what it does instead). PURE: no k6, no Node (unit-tested in Node, run
 * in k6 by lib/setup.ts). The runner reads them back from the setup data (runner/setup-section.ts).
 */

/**
 * One kind of failed setup call: the fixture it was for, the call, the status and error text it got, how many
 * times. `required`: the run cannot do without it (the load is not started); else `instead` says what the run does.
 */
export interface SetupFailure {
  fixture: string;
  call: string;
  status: number;
  error: string;
  count: number;
  required: boolean;
  instead?: string;
}

/** Adds one failed call to the list (same fixture, call, status and error: count + 1). */
export function recordFailure(list: SetupFailure[], f: Omit<SetupFailure, 'count'>): void {
  const same = list.find((x) => x.fixture === f.fixture && x.call === f.call && x.status === f.status && x.error === f.error);
  if (same) same.count += 1;
  else list.push({ ...f, count: 1 });
}

/** One line per failure kind, for the k6 log and the printout: `users: POST /api/v1/users → 500 "..." ×10 (...)`. */
export function describeFailure(f: SetupFailure): string {
  return `${f.fixture}: ${f.call} → ${f.status === 0 ? 'no response' : f.status} "${f.error}" ×${f.count}${f.required ? ' (required: the load is not started)' : f.instead ? ` (${f.instead})` : ''}`;
}

