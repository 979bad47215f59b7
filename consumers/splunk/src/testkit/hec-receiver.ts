import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/**
 * A Splunk HTTP Event Collector for tests, implementing the documented protocol (Splunk Enterprise
 * "Format events for HTTP Event Collector", "About HTTP Event Collector Indexer Acknowledgment",
 * "Troubleshoot HTTP Event Collector" status codes), since no HEC-compatible receiver installs here:
 *
 * - `POST /services/collector/event` (and `/services/collector`): `Authorization: Splunk <token>`;
 *   the body is JSON event objects concatenated (not an array), each with a non-blank `event`,
 *   optional numeric `time`, `host`, `source`, `sourcetype`, `index` (must be allowed for the
 *   token), `fields` (flat: string or array-of-string values).
 * - Answers `{text, code}`: 0 Success, 1 Token disabled (403), 2 Token is required (401),
 *   3 Invalid authorization (401), 4 Invalid token (403), 5 No data (400), 6 Invalid data format
 *   (400, with `invalid-event-number`), 7 Incorrect index (400), 9 Server is busy (503),
 *   10 Data channel is missing (400), 11 Invalid data channel (400), 12 Event field is required
 *   (400), 13 Event field cannot be blank (400), 14 ACK is disabled (400), 15 Error in handling
 *   indexed fields (400), 17 HEC is healthy / 18 unhealthy (health endpoint).
 * - Events before the first invalid one of a request are kept, as Splunk does.
 * - Indexer acknowledgement per token: a channel GUID (`X-Splunk-Request-Channel` or `?channel=`)
 *   is required, each accepted request gets the channel's next `ackId`, and `POST
 *   /services/collector/ack` with `{"acks":[ids]}` answers `{"acks":{"id":bool}}`; an id reports
 *   true once (then it is forgotten), after `ackDelayMs`.
 * - Injected failures: busy (503 code 9) for a while or for the next N requests.
 */

export interface HecToken {
  readonly token: string;
  readonly disabled?: boolean;
  /** Indexer acknowledgement on for this token. */
  readonly ack?: boolean;
  /** Indexes this token may write (the first is its default). */
  readonly indexes?: readonly string[];
}

export interface StoredHecEvent {
  readonly token: string;
  readonly channel: string | undefined;
  readonly index: string;
  readonly envelope: Record<string, unknown>;
}

export interface HecReceiverOptions {
  readonly tokens: readonly HecToken[];
  /** How long until an accepted request's ackId reports true. */
  readonly ackDelayMs?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface HecReceiver {
  readonly url: string;
  /** Every event accepted (and, with acks, not necessarily acknowledged yet). */
  readonly events: StoredHecEvent[];
  /** Requests answered, by HEC code. */
  readonly answers: Map<number, number>;
  /** Answers 503 "Server is busy" to every request until `Date.now() + ms`. */
  busyFor(ms: number): void;
  /** Answers 503 to `n` event requests, after accepting `after` more first. */
  busyNext(n: number, after?: number): void;
  close(): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Splits concatenated JSON objects ("{..}{..} {..}") into their texts; `malformed` when the rest
 * after the last complete object is not one (the complete ones before it are returned).
 */
export function splitConcatenatedJson(body: string): { texts: string[]; malformed: boolean } {
  const out: string[] = [];
  let i = 0;
  const n = body.length;
  while (i < n) {
    while (i < n && /\s/.test(body[i]!)) i++;
    if (i >= n) break;
    if (body[i] !== '{') return { texts: out, malformed: true };
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < n; j++) {
      const c = body[j]!;
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0 || j >= n) return { texts: out, malformed: true };
    out.push(body.slice(i, j + 1));
    i = j + 1;
  }
  return { texts: out, malformed: false };
}

function answer(res: ServerResponse, status: number, body: Record<string, unknown>) {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function validEnvelope(e: unknown, allowedIndexes: readonly string[]): number {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 6;
  const env = e as Record<string, unknown>;
  if (!('event' in env)) return 12;
  if (env.event === '' || env.event === null) return 13;
  if ('time' in env) {
    const t = env.time;
    if (!(typeof t === 'number' || (typeof t === 'string' && /^\d+(\.\d+)?$/.test(t)))) return 6;
  }
  for (const key of ['host', 'source', 'sourcetype', 'index'] as const) {
    if (key in env && typeof env[key] !== 'string') return 6;
  }
  if ('index' in env && !allowedIndexes.includes(env.index as string)) return 7;
  if ('fields' in env) {
    const fields = env.fields;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return 15;
    for (const value of Object.values(fields)) {
      const flat =
        typeof value === 'string' ||
        (Array.isArray(value) && value.every((v) => typeof v === 'string'));
      if (!flat) return 15;
    }
  }
  return 0;
}

const TEXT: Record<number, [number, string]> = {
  0: [200, 'Success'],
  1: [403, 'Token disabled'],
  2: [401, 'Token is required'],
  3: [401, 'Invalid authorization'],
  4: [403, 'Invalid token'],
  5: [400, 'No data'],
  6: [400, 'Invalid data format'],
  7: [400, 'Incorrect index'],
  9: [503, 'Server is busy'],
  10: [400, 'Data channel is missing'],
  11: [400, 'Invalid data channel'],
  12: [400, 'Event field is required'],
  13: [400, 'Event field cannot be blank'],
  14: [400, 'ACK is disabled'],
  15: [400, 'Error in handling indexed fields'],
  17: [200, 'HEC is healthy'],
  18: [503, 'HEC is unhealthy, queues are full'],
};

/** Starts a receiver on 127.0.0.1 (a free port). */
export async function startHecReceiver(options: HecReceiverOptions): Promise<HecReceiver> {
  const events: StoredHecEvent[] = [];
  const answers = new Map<number, number>();
  const channels = new Map<string, { next: number; pending: Map<number, number> }>();
  let busyUntil = 0;
  let busyCount = 0;
  let busyAfter = 0;
  const ackDelayMs = options.ackDelayMs ?? 0;

  function reply(res: ServerResponse, code: number, extra: Record<string, unknown> = {}) {
    answers.set(code, (answers.get(code) ?? 0) + 1);
    const [status, text] = TEXT[code]!;
    answer(res, status, { text, code, ...extra });
  }

  function authenticate(req: IncomingMessage, res: ServerResponse): HecToken | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return void reply(res, 2);
    const match = /^Splunk\s+(\S+)$/.exec(header);
    if (!match) return void reply(res, 3);
    const token = options.tokens.find((t) => t.token === match[1]);
    if (!token) return void reply(res, 4);
    if (token.disabled) return void reply(res, 1);
    return token;
  }

  function channelOf(req: IncomingMessage, url: URL): string | undefined {
    const value = req.headers['x-splunk-request-channel'];
    return (
      (Array.isArray(value) ? value[0] : value) ?? url.searchParams.get('channel') ?? undefined
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const busy = Date.now() < busyUntil;
    if (
      url.pathname === '/services/collector/health' ||
      url.pathname === '/services/collector/health/1.0'
    ) {
      return reply(res, busy ? 18 : 17);
    }
    const isEvent = [
      '/services/collector',
      '/services/collector/event',
      '/services/collector/event/1.0',
    ].includes(url.pathname);
    const isAck = url.pathname === '/services/collector/ack';
    if (req.method !== 'POST' || (!isEvent && !isAck)) {
      res.writeHead(404).end();
      return;
    }
    const body = await readBody(req);
    const token = authenticate(req, res);
    if (!token) return;
    const channel = channelOf(req, url);
    if (token.ack) {
      if (channel === undefined) return reply(res, 10);
      if (!GUID.test(channel)) return reply(res, 11);
    }
    if (isAck) {
      if (!token.ack) return reply(res, 14);
      let ids: unknown;
      try {
        ids = (JSON.parse(body) as { acks?: unknown }).acks;
      } catch {
        return reply(res, 6);
      }
      if (!Array.isArray(ids)) return reply(res, 6);
      const state = channels.get(channel!);
      const result: Record<string, boolean> = {};
      for (const id of ids as number[]) {
        const readyAt = state?.pending.get(id);
        const done = readyAt !== undefined && Date.now() >= readyAt;
        if (done) state!.pending.delete(id);
        result[String(id)] = done;
      }
      return answer(res, 200, { acks: result });
    }
    if (busy) return reply(res, 9);
    if (busyCount > 0) {
      if (busyAfter > 0) busyAfter--;
      else {
        busyCount--;
        return reply(res, 9);
      }
    }
    const { texts, malformed } = splitConcatenatedJson(body);
    if (texts.length === 0 && !malformed) return reply(res, 5);
    const allowed = token.indexes ?? ['main'];
    let accepted = 0;
    for (const [i, text] of texts.entries()) {
      let envelope: unknown;
      let code: number;
      try {
        envelope = JSON.parse(text);
        code = validEnvelope(envelope, allowed);
      } catch {
        code = 6;
      }
      if (code !== 0) return reply(res, code, { 'invalid-event-number': i });
      const env = envelope as Record<string, unknown>;
      events.push({
        token: token.token,
        channel,
        index: (env.index as string | undefined) ?? allowed[0]!,
        envelope: env,
      });
      accepted++;
    }
    if (malformed) return reply(res, 6, { 'invalid-event-number': accepted });
    if (token.ack) {
      const state = channels.get(channel!) ?? { next: 0, pending: new Map<number, number>() };
      channels.set(channel!, state);
      const ackId = state.next++;
      state.pending.set(ackId, Date.now() + ackDelayMs);
      return reply(res, 0, { ackId });
    }
    return reply(res, 0);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  };
  const server: Server = options.tls
    ? createHttpsServer(options.tls, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.tls ? 'localhost' : '127.0.0.1'}:${port}`,
    events,
    answers,
    busyFor(ms) {
      busyUntil = Date.now() + ms;
    },
    busyNext(n, after = 0) {
      busyCount = n;
      busyAfter = after;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A random channel GUID, as clients generate them. */
export const newChannel = (): string => randomUUID();
