import type { HttpClient } from '../http.js';
import { checkStatus } from '../http.js';
import { ServiceState, StateType, firstLine, type ServiceStatus } from '../status.js';
import type { Adapter } from './adapter.js';
import { decodeText, flag, isRecord, malformed, parseJson, type TextEncoding } from './text.js';

/**
 * Checkmk's view export (`view.py?...&output_format=csv_export` or `json`). Columns are found by
 * their internal names in the header row, never by position: the order differs between versions
 * and views. The human-readable age columns (`svc_state_age`, `svc_check_age`: "18 m", "2 h", a
 * date) are never parsed.
 */

const STATES: Record<string, ServiceState> = {
  OK: ServiceState.SERVICE_STATE_OK,
  WARN: ServiceState.SERVICE_STATE_WARNING,
  CRIT: ServiceState.SERVICE_STATE_CRITICAL,
  UNKN: ServiceState.SERVICE_STATE_UNKNOWN,
  PEND: ServiceState.SERVICE_STATE_PENDING,
  // Host views and some exports use the numeric form.
  '0': ServiceState.SERVICE_STATE_OK,
  '1': ServiceState.SERVICE_STATE_WARNING,
  '2': ServiceState.SERVICE_STATE_CRITICAL,
  '3': ServiceState.SERVICE_STATE_UNKNOWN,
};

const HOST_COLUMNS = ['host', 'host_name'];
const SERVICE_COLUMNS = ['service_description', 'service'];
const STATE_COLUMNS = ['service_state', 'svc_state'];
const OUTPUT_COLUMNS = ['svc_plugin_output', 'svc_long_plugin_output', 'plugin_output'];

/**
 * Splits `;`-separated, double-quoted CSV as Checkmk writes it (every field quoted, quotes
 * doubled, newlines allowed inside quotes). Pure.
 * @throws {SourceError} 'malformed' for an unterminated quote or text after a closing quote.
 */
export function splitCsv(text: string, what: string, separator = ';'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let line = 1;
  let quoted = false;
  let quoteLine = 0;
  let wasQuoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== separator && next !== '\n' && next !== '\r') {
          malformed(what, `line ${line}: text after a closing quote`);
        }
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '' && !wasQuoted) {
      quoted = true;
      quoteLine = line;
      wasQuoted = true;
      i++;
      continue;
    }
    if (c === separator) {
      row.push(field);
      field = '';
      wasQuoted = false;
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++;
      row.push(field);
      if (!(row.length === 1 && row[0] === '' && !wasQuoted)) rows.push(row);
      row = [];
      field = '';
      wasQuoted = false;
      line++;
      continue;
    }
    field += c;
    i++;
  }
  if (quoted) malformed(what, `line ${quoteLine}: unterminated quoted field (truncated?)`);
  if (field !== '' || wasQuoted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Builds statuses from a header row and data rows (CSV and JSON exports share this). Pure. */
export function statusesFromTable(
  header: readonly string[],
  rows: readonly (readonly unknown[])[],
  what: string,
): ServiceStatus[] {
  const index = (names: readonly string[]) =>
    names.map((name) => header.indexOf(name)).find((i) => i >= 0) ?? -1;
  const hostAt = index(HOST_COLUMNS);
  const serviceAt = index(SERVICE_COLUMNS);
  const stateAt = index(STATE_COLUMNS);
  const missing = [
    hostAt < 0 ? 'host' : undefined,
    serviceAt < 0 ? 'service_description' : undefined,
    stateAt < 0 ? 'service_state' : undefined,
  ].filter(Boolean);
  if (missing.length > 0) {
    malformed(
      what,
      `the export has no ${missing.join(', ')} column (header: ${header.slice(0, 12).join(', ')}); add it to the view`,
    );
  }
  const outputAt = index(OUTPUT_COLUMNS);
  const ackAt = index(['svc_acknowledged', 'service_acknowledged']);
  const downtimeAt = index(['svc_in_downtime', 'service_scheduled_downtime_depth']);
  const flappingAt = index(['svc_flapping', 'svc_is_flapping', 'service_is_flapping']);
  const text = (row: readonly unknown[], at: number) =>
    at >= 0 && row[at] !== undefined && row[at] !== null ? String(row[at]) : '';

  return rows.map((row, r) => {
    if (row.length !== header.length) {
      malformed(what, `row ${r + 1} has ${row.length} fields, the header ${header.length}`);
    }
    const stateText = text(row, stateAt).trim();
    const state = STATES[stateText];
    if (state === undefined)
      malformed(what, `row ${r + 1}: unknown service state "${stateText.slice(0, 20)}"`);
    return {
      host: text(row, hostAt),
      service: text(row, serviceAt),
      state,
      stateType: StateType.STATE_TYPE_UNSPECIFIED,
      output: firstLine(text(row, outputAt)),
      acknowledged: flag(text(row, ackAt)),
      inDowntime: flag(text(row, downtimeAt)),
      flapping: flag(text(row, flappingAt)),
      lastCheckMs: 0,
      lastStateChangeMs: 0,
    };
  });
}

/** Parses a CSV view export. Pure. @throws {SourceError} for anything that is not a usable export. */
export function parseCheckmkCsv(text: string, what: string): ServiceStatus[] {
  const rows = splitCsv(text.replace(/^\uFEFF/, ''), what);
  const [header, ...data] = rows;
  if (!header) malformed(what, 'empty export (no header row)');
  return statusesFromTable(header, data, what);
}

/** Parses a JSON view export: a list of rows, the first one the column names. Pure. */
export function parseCheckmkViewJson(text: string, what: string): ServiceStatus[] {
  const doc = parseJson(text, what);
  if (!Array.isArray(doc) || doc.length === 0 || !doc.every(Array.isArray)) {
    malformed(
      what,
      isRecord(doc)
        ? 'expected a list of rows, got an object'
        : 'expected a non-empty list of rows',
    );
  }
  const [header, ...data] = doc as unknown[][];
  return statusesFromTable(header!.map(String), data, what);
}

/** The adapter: one GET of the configured export URL. */
export function createCheckmkViewAdapter(
  config: {
    readonly url: string;
    readonly format: 'csv' | 'json';
    readonly encoding: TextEncoding;
    readonly source: string;
  },
  http: HttpClient,
): Adapter {
  const what = `${config.source} (checkmk-view ${config.format})`;
  return {
    type: 'checkmk-view',
    async poll(signal) {
      const response = await http.request({ url: config.url, signal });
      checkStatus(response, what);
      const text = decodeText(response.body, config.encoding, what);
      return config.format === 'csv'
        ? parseCheckmkCsv(text, what)
        : parseCheckmkViewJson(text, what);
    },
  };
}
