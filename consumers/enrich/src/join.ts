/**
 * A bounded memory of recent process starts and of ends whose start has not arrived, to join them.
 * The oldest entries are forgotten first. Losing an entry (restart, eviction) only makes a document
 * less complete: it never holds back a commit, so at-least-once is untouched.
 */
export interface JoinCache<S, E> {
  rememberStart(startId: string, start: S): void;
  startOf(startId: string): S | undefined;
  rememberEnd(startId: string, end: E): void;
  endOf(startId: string): E | undefined;
}

function bounded<V>(max: number) {
  const map = new Map<string, V>();
  return {
    get: (key: string) => map.get(key),
    set(key: string, value: V) {
      map.delete(key);
      map.set(key, value);
      while (map.size > max) map.delete(map.keys().next().value!);
    },
  };
}

/** Creates a cache holding at most `max` starts and `max` early ends. */
export function createJoinCache<S, E>(max: number): JoinCache<S, E> {
  const starts = bounded<S>(max);
  const ends = bounded<E>(max);
  return {
    rememberStart: (id, start) => max > 0 && starts.set(id, start),
    startOf: (id) => starts.get(id),
    rememberEnd: (id, end) => max > 0 && ends.set(id, end),
    endOf: (id) => ends.get(id),
  };
}
