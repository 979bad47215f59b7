import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { SourceError } from './adapters/source-error.js';
import type { AuthConfig, TlsConfig } from './config.js';

/** One HTTP exchange with a source. */
export interface HttpRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** A whole response; the body is bounded by the client's `maxBytes`. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** HTTP(S) to one source, with its authentication and TLS settings applied to every request. */
export interface HttpClient {
  /**
   * Resolves with the whole response, whatever its status. Throws SourceError 'timeout',
   * 'unreachable' (connection, TLS and DNS failures) or 'too-large'.
   */
  request(request: HttpRequest): Promise<HttpResponse>;
  /**
   * Opens a long-lived request and calls `onLine` for every newline-terminated line of the body.
   * Resolves when the server ends the response; rejects as `request` does, or with 'http-status'.
   * Abort `signal` to close it.
   */
  stream(request: HttpRequest, onLine: (line: string) => void): Promise<void>;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Names the source in error messages. */
  readonly source: string;
  readonly auth: AuthConfig;
  readonly tls: TlsConfig;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** The Authorization header an auth block asks for (none for `none` and `client-cert`). */
export function authorizationHeader(auth: AuthConfig): string | undefined {
  switch (auth.type) {
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token}`;
    case 'checkmk-automation':
      // Checkmk's automation user: "Bearer <user> <secret>" (REST API docs, "Authentication").
      return `Bearer ${auth.username} ${auth.secret}`;
    default:
      return undefined;
  }
}

/**
 * Creates a client. Files named in `tls` (CA, client certificate and key) are read once, here, so
 * a wrong path fails at start. Certificate verification is on unless `tls.insecureSkipVerify`.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const tls = {
    ...(options.tls.ca ? { ca: readFileSync(options.tls.ca) } : {}),
    ...(options.tls.cert ? { cert: readFileSync(options.tls.cert) } : {}),
    ...(options.tls.key ? { key: readFileSync(options.tls.key) } : {}),
    ...(options.tls.passphrase ? { passphrase: options.tls.passphrase } : {}),
    ...(options.tls.servername ? { servername: options.tls.servername } : {}),
    rejectUnauthorized: !options.tls.insecureSkipVerify,
  };
  const authorization = authorizationHeader(options.auth);
  const agentOptions = { keepAlive: true, maxSockets: 4, ...tls };
  const httpsAgent = new https.Agent(agentOptions);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  function open(request: HttpRequest, timeoutMs: number | undefined): Promise<IncomingMessage> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {
      accept: 'application/json, text/csv;q=0.9, */*;q=0.5',
      ...request.headers,
    };
    if (authorization) headers.authorization = authorization;
    if (request.body !== undefined)
      headers['content-length'] = String(Buffer.byteLength(request.body));
    const where = `${request.method ?? 'GET'} ${url.origin}${url.pathname}`;
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        {
          method: request.method ?? 'GET',
          headers,
          agent: secure ? httpsAgent : httpAgent,
          ...(request.signal ? { signal: request.signal } : {}),
        },
        resolve,
      );
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(
            new SourceError(
              'timeout',
              `${options.source}: ${where}: no answer within ${timeoutMs} ms`,
            ),
          ),
        );
      }
      req.on('error', (error) => reject(asSourceError(options.source, where, error)));
      req.end(request.body);
    });
  }

  return {
    async request(request) {
      const url = new URL(request.url);
      const where = `${request.method ?? 'GET'} ${url.origin}${url.pathname}`;
      const timer = AbortSignal.timeout(options.timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timer]) : timer;
      try {
        const response = await open({ ...request, signal }, options.timeoutMs);
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of response as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > options.maxBytes) {
            response.destroy();
            throw new SourceError(
              'too-large',
              `${options.source}: ${where}: response larger than ${options.maxBytes} bytes`,
            );
          }
          chunks.push(chunk);
        }
        return {
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        };
      } catch (error) {
        if (timer.aborted && !(error instanceof SourceError)) {
          throw new SourceError(
            'timeout',
            `${options.source}: ${where}: no answer within ${options.timeoutMs} ms`,
            error,
          );
        }
        throw asSourceError(options.source, where, error);
      }
    },

    async stream(request, onLine) {
      const url = new URL(request.url);
      const where = `${request.method ?? 'GET'} ${url.origin}${url.pathname}`;
      const response = await open(request, undefined);
      if ((response.statusCode ?? 0) >= 300) {
        response.resume();
        throw new SourceError(
          'http-status',
          `${options.source}: ${where}: HTTP ${response.statusCode}`,
        );
      }
      let pending = '';
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          pending += chunk.toString('utf8');
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line !== '') onLine(line);
          }
        }
      } catch (error) {
        throw asSourceError(options.source, where, error);
      }
    },
  };
}

function asSourceError(source: string, where: string, error: unknown): SourceError {
  if (error instanceof SourceError) return error;
  const e = error as NodeJS.ErrnoException;
  const detail = e.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError')
    return new SourceError('timeout', `${source}: ${where}: aborted`, error);
  return new SourceError('unreachable', `${source}: ${where}: ${detail}`, error);
}

/**
 * Turns a non-success HTTP answer into a SourceError: 401/403 are 'auth', the rest 'http-status'.
 * Resolves silently for 2xx.
 */
export function checkStatus(response: HttpResponse, what: string): void {
  if (response.status >= 200 && response.status < 300) return;
  const reason = response.status === 401 || response.status === 403 ? 'auth' : 'http-status';
  const hint = reason === 'auth' ? ' (check the credentials)' : '';
  throw new SourceError(reason, `${what}: HTTP ${response.status}${hint}`);
}
