import type { HttpClient } from '../http.js';
import { checkStatus } from '../http.js';
import {
  ServiceState,
  firstLine,
  stateFromNumber,
  stateTypeFromNumber,
  type ServiceStatus,
} from '../status.js';
import type { Adapter } from './adapter.js';
import {
  decodeText,
  flag,
  isRecord,
  malformed,
  num,
  parseJson,
  secondsToMs,
  type TextEncoding,
} from './text.js';

/**
 * Icinga 2's REST API: `/v1/objects/services` for polls, and the `/v1/events` stream (newline-
 * delimited JSON) to poll at once when a state changes. Host events in the stream carry no
 * `service` key; a stream filter on `event.service` silently yields nothing, so they are dropped
 * here instead.
 */

export const ICINGA2_ATTRS = [
  'host_name',
  'name',
  'state',
  'state_type',
  'last_check',
  'last_check_result',
  'last_state_change',
  'acknowledgement',
  'downtime_depth',
  'flapping',
] as const;

/** The objects URL of one poll. Pure. */
export function icinga2ServicesUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/objects/services?${ICINGA2_ATTRS.map((a) => `attrs=${a}`).join('&')}`;
}

/** Parses `{results: [{attrs: {...}, name: "host!service"}]}`. Pure. */
export function parseIcinga2Services(text: string, what: string): ServiceStatus[] {
  const doc = parseJson(text, what);
  if (!isRecord(doc) || !Array.isArray(doc.results)) malformed(what, 'expected {"results": [...]}');
  return doc.results.map((item, i) => {
    if (!isRecord(item) || !isRecord(item.attrs)) malformed(what, `results[${i}] has no attrs`);
    const a = item.attrs;
    if (typeof a.host_name !== 'string' || typeof a.name !== 'string')
      malformed(what, `results[${i}]: no host_name/name`);
    const result = isRecord(a.last_check_result) ? a.last_check_result : undefined;
    const state = result ? stateFromNumber(num(a.state)) : ServiceState.SERVICE_STATE_PENDING;
    if (state === undefined)
      malformed(
        what,
        `results[${i}] (${a.host_name}/${a.name}): state ${JSON.stringify(a.state)} is not 0-3`,
      );
    return {
      host: a.host_name,
      service: a.name,
      state,
      stateType: stateTypeFromNumber(num(a.state_type)),
      output: firstLine(typeof result?.output === 'string' ? result.output : ''),
      acknowledged: flag(a.acknowledgement),
      inDowntime: flag(a.downtime_depth),
      flapping: flag(a.flapping),
      lastCheckMs: secondsToMs(a.last_check),
      lastStateChangeMs: secondsToMs(a.last_state_change),
    };
  });
}

/** Event types that mean a service's state (or its ack/downtime/flapping marks) changed. */
export const ICINGA2_EVENT_TYPES = [
  'StateChange',
  'AcknowledgementSet',
  'AcknowledgementCleared',
  'DowntimeStarted',
  'DowntimeRemoved',
  'Flapping',
] as const;

/** True when one line of the event stream is about a service (not a host). Pure; bad lines are false. */
export function isServiceEvent(line: string): boolean {
  try {
    const event = JSON.parse(line) as unknown;
    if (!isRecord(event) || typeof event.type !== 'string') return false;
    if (event.type.startsWith('Downtime'))
      return (
        isRecord(event.downtime) &&
        typeof event.downtime.service_name === 'string' &&
        event.downtime.service_name !== ''
      );
    return typeof event.service === 'string' && event.service !== '';
  } catch {
    return false;
  }
}

/** The adapter. */
export function createIcinga2Adapter(
  config: {
    readonly url: string;
    readonly eventStream: boolean;
    readonly encoding: TextEncoding;
    readonly source: string;
    readonly queue: string;
  },
  http: HttpClient,
): Adapter {
  const what = `${config.source} (icinga2)`;
  const adapter: Adapter = {
    type: 'icinga2',
    async poll(signal) {
      const response = await http.request({
        url: icinga2ServicesUrl(config.url),
        headers: { accept: 'application/json' },
        signal,
      });
      checkStatus(response, what);
      return parseIcinga2Services(decodeText(response.body, config.encoding, what), what);
    },
  };
  if (config.eventStream) {
    adapter.watch = (onChange, signal) =>
      http.stream(
        {
          url: `${config.url.replace(/\/+$/, '')}/v1/events`,
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body: JSON.stringify({ queue: config.queue, types: ICINGA2_EVENT_TYPES }),
          signal,
        },
        (line) => {
          if (isServiceEvent(line)) onChange();
        },
      );
  }
  return adapter;
}
