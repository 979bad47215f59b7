import {
  ServiceState,
  firstLine,
  stateFromNumber,
  stateTypeFromNumber,
  type ServiceStatus,
} from '../status.js';
import { flag, malformed, num, secondsToMs } from './text.js';

/**
 * Livestatus service columns: what the Livestatus adapter asks for and what the Checkmk REST API
 * returns in `extensions` (the REST API is Livestatus underneath).
 */
export const LIVESTATUS_COLUMNS = [
  'host_name',
  'description',
  'state',
  'state_type',
  'plugin_output',
  'last_check',
  'last_state_change',
  'acknowledged',
  'scheduled_downtime_depth',
  'is_flapping',
  'has_been_checked',
] as const;

/**
 * One service from a row keyed by Livestatus column names. Checkmk answers 0/1 for flags, Icinga
 * 2 true/false: both are accepted. A service never checked is PENDING. Pure.
 */
export function statusFromLivestatusRow(
  row: Readonly<Record<string, unknown>>,
  what: string,
  at: string,
): ServiceStatus {
  const host = row.host_name;
  const service = row.description;
  if (typeof host !== 'string' || typeof service !== 'string')
    malformed(what, `${at}: no host_name/description`);
  const checked = row.has_been_checked === undefined ? true : flag(row.has_been_checked);
  const state = checked ? stateFromNumber(num(row.state)) : ServiceState.SERVICE_STATE_PENDING;
  if (state === undefined)
    malformed(what, `${at} (${host}/${service}): state ${JSON.stringify(row.state)} is not 0-3`);
  return {
    host,
    service,
    state,
    stateType: stateTypeFromNumber(row.state_type),
    output: firstLine(typeof row.plugin_output === 'string' ? row.plugin_output : ''),
    acknowledged: flag(row.acknowledged),
    inDowntime: flag(row.scheduled_downtime_depth),
    flapping: flag(row.is_flapping),
    lastCheckMs: secondsToMs(row.last_check),
    lastStateChangeMs: secondsToMs(row.last_state_change),
  };
}
