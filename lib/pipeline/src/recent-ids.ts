/**
 * A bounded set of recently seen event ids, the oldest forgotten first: how a sink that cannot ask
 * its store "do you have this id?" (files, Splunk) skips what it stored just before a redelivery.
 */
export interface RecentIds {
  has(id: string): boolean;
  /** Remembers an id (again: it becomes the newest); forgets the oldest past the limit. */
  add(id: string): void;
  readonly size: number;
}

/** Creates an empty set holding at most `limit` ids; a limit of 0 remembers nothing. */
export function createRecentIds(limit: number): RecentIds {
  const ids = new Set<string>();
  return {
    has: (id) => ids.has(id),
    add(id) {
      if (limit === 0) return;
      ids.delete(id);
      ids.add(id);
      if (ids.size > limit) ids.delete(ids.values().next().value!);
    },
    get size() {
      return ids.size;
    },
  };
}
