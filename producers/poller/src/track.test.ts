import { describe, expect, it } from 'vitest';
import { ServiceState as S, StateType as T, type ServiceStatus } from './status.js';
import { diffPoll, type KnownState } from './track.js';

const status = (state: S, lastStateChangeMs = 0, stateType = T.STATE_TYPE_HARD): ServiceStatus => ({
  host: 'h',
  service: 's',
  state,
  stateType,
  output: '',
  acknowledged: false,
  inDowntime: false,
  flapping: false,
  lastCheckMs: 0,
  lastStateChangeMs,
});
const known = (state: S, sinceMs: number, stateType = T.STATE_TYPE_HARD): KnownState => ({
  state,
  stateType,
  sinceMs,
});

describe('diffPoll', () => {
  it.each([
    {
      name: 'first sight is a baseline',
      before: undefined,
      now: status(S.SERVICE_STATE_CRITICAL, 500),
      changes: 0,
      stored: known(S.SERVICE_STATE_CRITICAL, 500),
    },
    {
      name: 'first sight without a source time uses now',
      before: undefined,
      now: status(S.SERVICE_STATE_OK),
      changes: 0,
      stored: known(S.SERVICE_STATE_OK, 10_000),
    },
    {
      name: 'same state: nothing',
      before: known(S.SERVICE_STATE_OK, 100),
      now: status(S.SERVICE_STATE_OK, 100),
      changes: 0,
      stored: undefined,
    },
    {
      name: 'changed state',
      before: known(S.SERVICE_STATE_OK, 100),
      now: status(S.SERVICE_STATE_CRITICAL, 4100),
      changes: 1,
      stored: known(S.SERVICE_STATE_CRITICAL, 4100),
      durationMs: 4000,
    },
    {
      name: 'change seen by polling only (no source time)',
      before: known(S.SERVICE_STATE_OK, 1000),
      now: status(S.SERVICE_STATE_WARNING),
      changes: 1,
      stored: known(S.SERVICE_STATE_WARNING, 10_000),
      durationMs: 9000,
    },
    {
      name: 'soft to hard: no change, type stored',
      before: known(S.SERVICE_STATE_CRITICAL, 100, T.STATE_TYPE_SOFT),
      now: status(S.SERVICE_STATE_CRITICAL, 100),
      changes: 0,
      stored: known(S.SERVICE_STATE_CRITICAL, 100),
    },
  ])('$name', ({ before, now, changes, stored, durationMs }) => {
    const map = new Map(before ? [['k', before]] : []);
    const diff = diffPoll(map, [{ key: 'k', status: now }], 10_000);
    expect(diff.changes).toHaveLength(changes);
    expect(diff.updates.get('k')).toEqual(stored);
    if (durationMs !== undefined) expect(diff.changes[0]!.previousDurationMs).toBe(durationMs);
    expect(map.get('k')).toEqual(before); // pure: the known map is not touched
  });
});
