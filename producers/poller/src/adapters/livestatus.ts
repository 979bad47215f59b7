import net from 'node:net';
import type { ServiceStatus } from '../status.js';
import type { Adapter } from './adapter.js';
import { LIVESTATUS_COLUMNS, statusFromLivestatusRow } from './livestatus-row.js';
import { SourceError } from './source-error.js';
import { decodeText, malformed, parseJson, type TextEncoding } from './text.js';

/**
 * Livestatus over TCP or a unix socket (Checkmk, Icinga 2, Naemon). The query asks for
 * `ResponseHeader: fixed16`: without it a failing query answers with nothing at all, and the
 * error text (e.g. "452 Column 'x' does not exist") is lost.
 */

/** The query text for one poll. Pure. */
export function livestatusQuery(): string {
  return [
    'GET services',
    `Columns: ${LIVESTATUS_COLUMNS.join(' ')}`,
    'OutputFormat: json',
    'ColumnHeaders: on',
    'ResponseHeader: fixed16',
    '',
    '',
  ].join('\n');
}

/**
 * Parses a whole fixed16 answer: a 16-byte header ("200" + space + length padded to 11 + "\n")
 * then the body. Pure.
 * @throws {SourceError} 'malformed' for a short answer, a non-200 status (with the server's
 *   message), or a body that is not the table.
 */
export function parseLivestatusResponse(
  bytes: Buffer,
  encoding: TextEncoding,
  what: string,
): ServiceStatus[] {
  if (bytes.length < 16)
    malformed(
      what,
      bytes.length === 0
        ? 'empty answer'
        : `answer of ${bytes.length} bytes is shorter than its header`,
    );
  const header = bytes.subarray(0, 16).toString('latin1');
  const match = /^(\d{3}) +(\d+)\n$/.exec(header);
  if (!match) malformed(what, `not a fixed16 response header: ${JSON.stringify(header)}`);
  const status = Number(match[1]);
  const length = Number(match[2]);
  const body = bytes.subarray(16);
  if (status !== 200) {
    const message = body.toString('utf8').split('\n', 1)[0]?.slice(0, 200) ?? '';
    throw new SourceError('http-status', `${what}: livestatus answered ${status}: ${message}`);
  }
  if (body.length < length)
    malformed(what, `body of ${body.length} bytes, header says ${length} (truncated?)`);
  const doc = parseJson(decodeText(body.subarray(0, length), encoding, what), what);
  if (!Array.isArray(doc) || !doc.every(Array.isArray)) malformed(what, 'expected a list of rows');
  const [columns, ...rows] = doc as unknown[][];
  if (!columns) malformed(what, 'no column header row');
  const names = columns.map(String);
  return rows.map((row, i) =>
    statusFromLivestatusRow(
      Object.fromEntries(names.map((name, c) => [name, row[c]])),
      what,
      `row ${i + 1}`,
    ),
  );
}

/** Sends one query and reads the answer until the server closes the connection. */
export function queryLivestatus(
  address: string,
  query: string,
  signal: AbortSignal,
  what: string,
): Promise<Buffer> {
  const target = address.startsWith('unix:')
    ? { path: address.slice('unix:'.length) }
    : {
        host: address.slice(4, address.lastIndexOf(':')),
        port: Number(address.slice(address.lastIndexOf(':') + 1)),
      };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(target);
    const onAbort = () => socket.destroy(new SourceError('timeout', `${what}: no answer in time`));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => socket.end(query));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(
        error instanceof SourceError
          ? error
          : new SourceError(
              'unreachable',
              `${what}: ${address}: ${error.code ?? error.message}`,
              error,
            ),
      );
    });
    socket.on('close', (hadError) => {
      signal.removeEventListener('abort', onAbort);
      if (!hadError) resolve(Buffer.concat(chunks));
    });
  });
}

/** The adapter. */
export function createLivestatusAdapter(config: {
  readonly address: string;
  readonly encoding: TextEncoding;
  readonly source: string;
}): Adapter {
  const what = `${config.source} (livestatus)`;
  return {
    type: 'livestatus',
    async poll(signal) {
      const answer = await queryLivestatus(config.address, livestatusQuery(), signal, what);
      return parseLivestatusResponse(answer, config.encoding, what);
    },
  };
}
