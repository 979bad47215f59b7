import { readFile } from 'node:fs/promises';
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
import { SourceError } from './source-error.js';
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
 * Nagios Core 4: `status.dat` (rewritten whole every status_update_interval, renamed into place,
 * so one read is consistent) and `statusjson.cgi?query=servicelist&details=true`. The two encode
 * states differently: status.dat 0-3, statusjson a bitmask (1 pending, 2 ok, 4 warning,
 * 8 unknown, 16 critical) with times in milliseconds.
 */

/** Parses the `servicestatus { key=value }` blocks of status.dat. Pure. */
export function parseNagiosStatusDat(text: string, what: string): ServiceStatus[] {
  const statuses: ServiceStatus[] = [];
  let block: Map<string, string> | undefined;
  let blockName = '';
  let blockLine = 0;
  let blocks = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (block === undefined) {
      const open = /^(\w+) \{$/.exec(line);
      if (open) {
        block = new Map();
        blockName = open[1]!;
        blockLine = i + 1;
      }
      continue;
    }
    if (line === '}') {
      if (blockName === 'servicestatus') statuses.push(fromStatusDat(block, what, blockLine));
      blocks++;
      block = undefined;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) block.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (block !== undefined)
    malformed(what, `${blockName} block at line ${blockLine} is not closed (truncated?)`);
  if (blocks === 0)
    malformed(what, 'not a Nagios status file (no info, hoststatus or servicestatus blocks)');
  return statuses;
}

function fromStatusDat(b: Map<string, string>, what: string, line: number): ServiceStatus {
  const host = b.get('host_name');
  const service = b.get('service_description');
  if (!host || service === undefined)
    malformed(what, `servicestatus block at line ${line}: no host_name/service_description`);
  const state =
    b.get('has_been_checked') === '0'
      ? ServiceState.SERVICE_STATE_PENDING
      : stateFromNumber(num(b.get('current_state')));
  if (state === undefined)
    malformed(
      what,
      `servicestatus block at line ${line}: current_state ${b.get('current_state')} is not 0-3`,
    );
  return {
    host,
    service,
    state,
    stateType: stateTypeFromNumber(b.get('state_type')),
    output: firstLine(b.get('plugin_output') ?? ''),
    acknowledged: flag(b.get('problem_has_been_acknowledged')),
    inDowntime: flag(b.get('scheduled_downtime_depth')),
    flapping: flag(b.get('is_flapping')),
    lastCheckMs: secondsToMs(b.get('last_check')),
    lastStateChangeMs: secondsToMs(b.get('last_state_change')),
  };
}

const JSON_STATES: Record<number, ServiceState> = {
  1: ServiceState.SERVICE_STATE_PENDING,
  2: ServiceState.SERVICE_STATE_OK,
  4: ServiceState.SERVICE_STATE_WARNING,
  8: ServiceState.SERVICE_STATE_UNKNOWN,
  16: ServiceState.SERVICE_STATE_CRITICAL,
};

const msOrZero = (value: unknown) => {
  const n = num(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** Parses statusjson.cgi's servicelist (details=true), CGI headers already stripped. Pure. */
export function parseNagiosStatusJson(text: string, what: string): ServiceStatus[] {
  const doc = parseJson(text, what);
  if (!isRecord(doc) || !isRecord(doc.result))
    malformed(what, 'not a statusjson.cgi answer (no "result")');
  if (doc.result.type_code !== 0) {
    throw new SourceError(
      'http-status',
      `${what}: statusjson.cgi: ${String(doc.result.type_text)}: ${String(doc.result.message ?? '')}`.slice(
        0,
        300,
      ),
    );
  }
  const list = isRecord(doc.data) ? doc.data.servicelist : undefined;
  if (!isRecord(list))
    malformed(what, 'no data.servicelist (query=servicelist&details=true expected)');
  const statuses: ServiceStatus[] = [];
  for (const [host, services] of Object.entries(list)) {
    if (!isRecord(services))
      malformed(what, `servicelist.${host} is not an object (details=true missing?)`);
    for (const [service, s] of Object.entries(services)) {
      if (!isRecord(s))
        malformed(what, `servicelist.${host}.${service} is not an object (details=true missing?)`);
      const state =
        s.has_been_checked === false
          ? ServiceState.SERVICE_STATE_PENDING
          : JSON_STATES[num(s.status)];
      if (state === undefined)
        malformed(
          what,
          `${host}/${service}: status ${JSON.stringify(s.status)} is not one of 1, 2, 4, 8, 16`,
        );
      statuses.push({
        host,
        service,
        state,
        stateType: stateTypeFromNumber(s.state_type),
        output: firstLine(typeof s.plugin_output === 'string' ? s.plugin_output : ''),
        acknowledged: flag(s.problem_has_been_acknowledged),
        inDowntime: flag(s.scheduled_downtime_depth),
        flapping: flag(s.is_flapping),
        lastCheckMs: msOrZero(s.last_check),
        lastStateChangeMs: msOrZero(s.last_state_change),
      });
    }
  }
  return statuses;
}

/** The status.dat adapter: one read of the file. */
export function createNagiosStatusAdapter(config: {
  readonly path: string;
  readonly encoding: TextEncoding;
  readonly source: string;
}): Adapter {
  const what = `${config.source} (nagios-status ${config.path})`;
  return {
    type: 'nagios-status',
    async poll(signal) {
      let bytes: Buffer;
      try {
        bytes = await readFile(config.path, { signal });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new SourceError('unreachable', `${what}: reading: ${code}`, error);
      }
      return parseNagiosStatusDat(decodeText(bytes, config.encoding, what), what);
    },
  };
}

/** The statusjson.cgi adapter. */
export function createNagiosJsonAdapter(
  config: { readonly url: string; readonly encoding: TextEncoding; readonly source: string },
  http: HttpClient,
): Adapter {
  const what = `${config.source} (nagios-json)`;
  const url = new URL(config.url);
  url.searchParams.set('query', 'servicelist');
  url.searchParams.set('details', 'true');
  return {
    type: 'nagios-json',
    async poll(signal) {
      const response = await http.request({ url: url.toString(), signal });
      checkStatus(response, what);
      return parseNagiosStatusJson(decodeText(response.body, config.encoding, what), what);
    },
  };
}
