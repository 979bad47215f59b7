import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** A small HTTP client for the collector: keep-alive, TLS verified, a timeout, abortable. */
export interface HecHttp {
  /** Resolves with the status and the parsed JSON body (undefined when not JSON); rejects on network errors. */
  post(
    path: string,
    body: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }>;
  get(path: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }>;
  close(): void;
}

export function createHecHttp(options: {
  readonly url: string;
  readonly ca?: string | undefined;
  readonly timeoutMs: number;
}): HecHttp {
  const base = new URL(options.url);
  const https = base.protocol === 'https:';
  // rejectUnauthorized is Node's default; stated so that nobody wonders (splunk-logging turns it off).
  const agent = https
    ? new HttpsAgent({
        keepAlive: true,
        rejectUnauthorized: true,
        ...(options.ca ? { ca: options.ca } : {}),
      })
    : new HttpAgent({ keepAlive: true });
  const send = https ? httpsRequest : httpRequest;
  const prefix = base.pathname.replace(/\/$/, '');

  function call(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ) {
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = send(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          path: `${prefix}${path}`,
          method,
          agent,
          timeout: options.timeoutMs,
          headers: {
            ...headers,
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(
          Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        ),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    post: (path, body, headers, signal) =>
      call('POST', path, body, { 'content-type': 'application/json', ...headers }, signal),
    get: (path, signal) => call('GET', path, undefined, {}, signal),
    close: () => agent.destroy(),
  };
}
