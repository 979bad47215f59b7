/**
 * Remembers event ids for a window of time to refuse replays. A record delivered again by Kafka
 * (same topic, partition and offset: a retry or a rebalance) is a redelivery, not a replay.
 */
export interface ReplayWindow {
  /** Classifies an event id at a record position and remembers it. */
  check(eventId: string, position: string): 'new' | 'redelivery' | 'replay';
  readonly size: number;
}

/** Creates a window holding ids for `windowMs`, at most `maxIds` (the oldest are forgotten first). */
export function createReplayWindow(options: {
  windowMs: number;
  maxIds: number;
  now?: () => number;
}): ReplayWindow {
  const now = options.now ?? Date.now;
  // Map keeps insertion order, so the oldest entries are first.
  const seen = new Map<string, { position: string; at: number }>();
  function evict(t: number) {
    for (const [id, entry] of seen) {
      if (seen.size <= options.maxIds && t - entry.at < options.windowMs) break;
      seen.delete(id);
    }
  }
  return {
    check(eventId, position) {
      const t = now();
      evict(t);
      const entry = seen.get(eventId);
      if (entry) return entry.position === position ? 'redelivery' : 'replay';
      seen.set(eventId, { position, at: t });
      evict(t);
      return 'new';
    },
    get size() {
      return seen.size;
    },
  };
}
