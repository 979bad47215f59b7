import type { EcsDocument } from '@vigil/documents/ecs';

/**
 * Bulk requests built by the sink, and their responses read item by item [Vector
 * elasticsearch/retry.rs]. Pure: no I/O, no clock.
 */

/** One document to store with op `create` under `_id` = event id. */
export interface BulkDoc {
  readonly index: string;
  readonly id: string;
  readonly doc: EcsDocument;
}

/** What happened to one item. 409 counts as stored: `create` with that id already succeeded once. */
export type ItemOutcome =
  | { readonly kind: 'stored'; readonly duplicate: boolean }
  | { readonly kind: 'retry'; readonly status: number; readonly reason: string }
  | { readonly kind: 'reject'; readonly status: number; readonly reason: string };

/** The daily index of an event: `<prefix>-<family>-YYYY.MM.DD`, from the event's own time (UTC). */
export function indexName(prefix: string, family: string, timeUnixNano: bigint): string {
  const day = new Date(Number(timeUnixNano / 1_000_000n)).toISOString().slice(0, 10);
  return `${prefix}-${family}-${day.replaceAll('-', '.')}`;
}

/** One action line and one source line per document, each ending in a newline (NDJSON). */
export function bulkLines(docs: readonly BulkDoc[]): string[] {
  return docs.map(
    (d) =>
      `${JSON.stringify({ create: { _index: d.index, _id: d.id } })}\n${JSON.stringify(d.doc)}\n`,
  );
}

/** Cuts documents (as their bulk lines) into requests of at most `maxDocs` and `maxBytes`. */
export function cutRequests(
  lines: readonly string[],
  maxDocs: number,
  maxBytes: number,
): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  lines.forEach((line, i) => {
    const size = Buffer.byteLength(line);
    if (current.length > 0 && (current.length >= maxDocs || bytes + size > maxBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length > 0) requests.push(current);
  return requests;
}

interface BulkItemResult {
  readonly status?: number;
  readonly error?: { readonly type?: string; readonly reason?: string } | string;
}

/** The part of a `_bulk` response this module reads. */
export interface BulkResponse {
  readonly errors?: boolean;
  readonly items?: ReadonlyArray<Record<string, BulkItemResult | undefined>>;
}

function reasonOf(item: BulkItemResult): string {
  const error = item.error;
  if (error === undefined) return `status ${item.status}`;
  if (typeof error === 'string') return error;
  return `${error.type ?? 'error'}: ${error.reason ?? ''}`.trim();
}

/**
 * The outcome of each of `count` items, in request order. Retried: 408, 429, 5xx (the shared HTTP
 * rule). Stored: 2xx, and 409 for `create` (a replay). Rejected (dead-letter): other 4xx, such as
 * `document_parsing_exception` or `mapper_parsing_exception`. Throws TypeError when the response does
 * not have one item per document (the caller treats the request as failed and retries it).
 */
export function classifyItems(response: BulkResponse, count: number): ItemOutcome[] {
  const items = response.items ?? [];
  if (items.length !== count) {
    throw new TypeError(`bulk response has ${items.length} items for ${count} documents`);
  }
  return items.map((entry): ItemOutcome => {
    const item = entry.create ?? entry.index ?? Object.values(entry)[0] ?? {};
    const status = item.status ?? 0;
    if (status >= 200 && status < 300) return { kind: 'stored', duplicate: false };
    if (status === 409) return { kind: 'stored', duplicate: true };
    if (status === 408 || status === 429 || status >= 500 || status === 0) {
      return { kind: 'retry', status, reason: reasonOf(item) };
    }
    return { kind: 'reject', status, reason: reasonOf(item) };
  });
}
