import type { HttpClient, HttpRequest } from '../http.js';
import { checkStatus } from '../http.js';
import type { ServiceStatus } from '../status.js';
import type { Adapter } from './adapter.js';
import { LIVESTATUS_COLUMNS, statusFromLivestatusRow } from './livestatus-row.js';
import { decodeText, isRecord, malformed, parseJson, type TextEncoding } from './text.js';

/**
 * Checkmk REST API, `domain-types/service/collections/all`: a GET with repeated `columns=` up to
 * Checkmk 2.3, a POST with a JSON body from 2.4. Authentication is the automation user
 * (`Bearer <user> <secret>`), set on the HTTP client.
 */

/** Checkmk versions whose service collection is read with POST. */
const POST_FROM = ['2.4', '2.5'];

/** The request for one poll. Pure. */
export function checkmkRestRequest(baseUrl: string, version: string): HttpRequest {
  const url = `${baseUrl.replace(/\/+$/, '')}/domain-types/service/collections/all`;
  if (POST_FROM.includes(version)) {
    return {
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ columns: LIVESTATUS_COLUMNS }),
    };
  }
  const query = LIVESTATUS_COLUMNS.map((c) => `columns=${encodeURIComponent(c)}`).join('&');
  return { url: `${url}?${query}`, method: 'GET' };
}

/** Parses the collection answer: `{value: [{extensions: {host_name, description, state, ...}}]}`. Pure. */
export function parseCheckmkRest(text: string, what: string): ServiceStatus[] {
  const doc = parseJson(text, what);
  if (!isRecord(doc) || !Array.isArray(doc.value)) {
    const title = isRecord(doc) && typeof doc.title === 'string' ? `: ${doc.title}` : '';
    malformed(what, `expected a collection with a "value" list${title}`);
  }
  return doc.value.map((item, i) => {
    if (!isRecord(item) || !isRecord(item.extensions))
      malformed(what, `value[${i}] has no extensions`);
    return statusFromLivestatusRow(item.extensions, what, `value[${i}]`);
  });
}

/** The adapter. */
export function createCheckmkRestAdapter(
  config: {
    readonly url: string;
    readonly version: string;
    readonly encoding: TextEncoding;
    readonly source: string;
  },
  http: HttpClient,
): Adapter {
  const what = `${config.source} (checkmk-rest)`;
  return {
    type: 'checkmk-rest',
    async poll(signal) {
      const response = await http.request({
        ...checkmkRestRequest(config.url, config.version),
        signal,
      });
      checkStatus(response, what);
      return parseCheckmkRest(decodeText(response.body, config.encoding, what), what);
    },
  };
}
