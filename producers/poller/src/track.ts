import type { ServiceState, ServiceStatus, StateType } from './status.js';

/**
 * State tracking, pure: what the poller knows about every service (the compacted state topic holds
 * the same), and which state changes a poll reveals.
 */

/** The last known state of one service. */
export interface KnownState {
  readonly state: ServiceState;
  readonly stateType: StateType;
  /** Since when it has held, ms since the epoch: the source's last state change, or when the poller saw it change. */
  readonly sinceMs: number;
}

/** A state change found by comparing a poll with what was known. */
export interface FoundChange {
  readonly key: string;
  readonly status: ServiceStatus;
  readonly previous: KnownState;
  /** How long the previous state held, ms; 0 if unknown. */
  readonly previousDurationMs: number;
}

/** Result of {@link diffPoll}. */
export interface PollDiff {
  readonly changes: FoundChange[];
  /** New known states to store (changed or first seen); unchanged services are not repeated. */
  readonly updates: Map<string, KnownState>;
}

/** The Kafka key and state key of a service: site/host/service. */
export function serviceKey(site: string, host: string, service: string): string {
  return `${site}/${host}/${service}`;
}

/**
 * Compares one poll with the known states. A service seen for the first time is a baseline: it is
 * stored but not announced (so neither a fresh start nor a new host produces a burst of changes).
 * A service whose state differs from the known one is a change. Pure.
 */
export function diffPoll(
  known: ReadonlyMap<string, KnownState>,
  polled: ReadonlyArray<{ readonly key: string; readonly status: ServiceStatus }>,
  nowMs: number,
): PollDiff {
  const changes: FoundChange[] = [];
  const updates = new Map<string, KnownState>();
  for (const { key, status } of polled) {
    const before = known.get(key);
    const sinceMs = status.lastStateChangeMs > 0 ? status.lastStateChangeMs : nowMs;
    if (!before) {
      updates.set(key, { state: status.state, stateType: status.stateType, sinceMs });
      continue;
    }
    if (before.state !== status.state) {
      const previousDurationMs = before.sinceMs > 0 ? Math.max(0, sinceMs - before.sinceMs) : 0;
      changes.push({ key, status, previous: before, previousDurationMs });
      updates.set(key, { state: status.state, stateType: status.stateType, sinceMs });
    } else if (before.stateType !== status.stateType) {
      // Soft to hard is not a new state, but the state topic keeps the latest type.
      updates.set(key, { ...before, stateType: status.stateType });
    }
  }
  return { changes, updates };
}
