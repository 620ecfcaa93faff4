/**
 * What one REST iteration does, by its number in the test (deterministic, so segments and reruns agree). PURE.
 * Every iteration posts a message and lists the room's newest page; some also page on with the cursor, list the
 * caller's rooms, create a room and add a member, or log in (logins are bcrypt-heavy on the target: 1 in 100).
 */
export interface RestActions {
  post: boolean;
  list: boolean;
  listNextPage: boolean;
  listRooms: boolean;
  createRoom: boolean;
  login: boolean;
}

export function restActions(iterationInTest: number): RestActions {
  const n = Math.max(0, Math.floor(iterationInTest));
  return {
    post: true,
    list: true,
    listNextPage: n % 10 === 5,
    listRooms: n % 20 === 7,
    createRoom: n % 50 === 11,
    login: n % 100 === 13,
  };
}

/** Round-robin pick, stable for a given index. */
export function pick<T>(xs: readonly T[], index: number): T | undefined {
  if (xs.length === 0) return undefined;
  const i = ((Math.floor(index) % xs.length) + xs.length) % xs.length;
  return xs[i];
}
