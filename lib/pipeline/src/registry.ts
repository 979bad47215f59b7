import { FAMILIES } from '@vigil/schemas/families';
import { CodecError, PermanentError, RetryableError } from './errors.js';
import { fileOfPackage, protoFile } from './codec/proto-files.js';

/**
 * The schema registry, through the Confluent REST API (Apicurio serves it at
 * `<base>/apis/ccompat/v7`). Only the calls Vigil needs, on fetch: see README "Dependency notes"
 * for why not @kafkajs/confluent-schema-registry.
 */

/** Where the registry is and how to log in. TLS certificates are verified (Node's default). */
export interface SchemaRegistryConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Per request; default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** Registering is for producers; resolving ids is for consumers and needs only read access. */
export interface SchemaRegistryClient {
  /**
   * Registers a Vigil .proto file and, first, every file it imports (as schema references).
   * Idempotent: the same text gets the same id. Resolves to the file's schema id. Throws
   * RetryableError while the registry is unreachable or busy, PermanentError when it refuses.
   */
  registerFile(protoFile: string): Promise<number>;
  /**
   * The Vigil .proto file behind a schema id (cached). Throws CodecError 'unknown-schema-id' when the
   * registry does not know the id, 'unknown-schema' when it is not a Vigil file, RetryableError while
   * the registry is unreachable.
   */
  fileOfSchemaId(schemaId: number): Promise<string>;
}

/** Subject naming: a family's file under `<topic>-value` (TopicNameStrategy), others under their package. */
export function subjectOf(file: string): string {
  const family = FAMILIES.find((f) => f.protoFile === file);
  return family ? `${family.topic}-value` : protoFile(file).packageName;
}

interface SchemaReference {
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The one HTTP classifier (STYLE §5): 408, 429, 5xx but 501, and network errors retry. */
function classify(step: string, error: unknown): Error {
  if (error instanceof HttpError) {
    const message = `${step}: HTTP ${error.status}: ${error.message}`;
    return RETRYABLE_STATUS.has(error.status)
      ? new RetryableError(message, { errorType: 'http', cause: error })
      : new PermanentError(message, { errorType: 'schema', cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  const errorType = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'network';
  return new RetryableError(`${step}: ${detail}`, { errorType, cause: error });
}

/** The `package` statement of a .proto text. */
function packageOf(source: string): string | undefined {
  return /^\s*package\s+([\w.]+)\s*;/m.exec(source)?.[1];
}

/** Creates a client. No I/O happens until a method is called. */
export function createSchemaRegistryClient(config: SchemaRegistryConfig): SchemaRegistryClient {
  const base = config.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {
    accept: 'application/vnd.schemaregistry.v1+json, application/json',
    'content-type': 'application/vnd.schemaregistry.v1+json',
  };
  if (config.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
  }
  const registered = new Map<string, Promise<{ id: number; version: number }>>();
  const filesById = new Map<number, string>();

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(config.requestTimeoutMs ?? 10_000),
    });
    const text = await response.text();
    if (!response.ok) {
      let parsed: { message?: string; error_code?: number } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not JSON (a proxy's HTML page): the status says enough.
      }
      throw new HttpError(response.status, parsed.error_code, parsed.message ?? text.slice(0, 200));
    }
    return JSON.parse(text) as T;
  }

  async function register(file: string): Promise<{ id: number; version: number }> {
    const { source, imports } = protoFile(file);
    const references: SchemaReference[] = [];
    for (const name of imports) {
      const ref = await registerOnce(name);
      references.push({ name, subject: subjectOf(name), version: ref.version });
    }
    const subject = encodeURIComponent(subjectOf(file));
    const body = { schemaType: 'PROTOBUF', schema: source, references };
    const step = `registering ${file} under ${subjectOf(file)}`;
    try {
      await call<{ id: number }>('POST', `/subjects/${subject}/versions`, body);
      // Registration answers only the id; a file importing this one also needs the version.
      const found = await call<{ id: number; version: number }>(
        'POST',
        `/subjects/${subject}`,
        body,
      );
      filesById.set(found.id, file);
      return { id: found.id, version: found.version };
    } catch (error) {
      throw classify(step, error);
    }
  }

  function registerOnce(file: string): Promise<{ id: number; version: number }> {
    let pending = registered.get(file);
    if (!pending) {
      pending = register(file);
      pending.catch(() => registered.delete(file)); // a failed attempt may be retried
      registered.set(file, pending);
    }
    return pending;
  }

  return {
    async registerFile(file) {
      return (await registerOnce(file)).id;
    },

    async fileOfSchemaId(schemaId) {
      const known = filesById.get(schemaId);
      if (known) return known;
      let schema: { schema: string };
      try {
        schema = await call<{ schema: string }>('GET', `/schemas/ids/${schemaId}`);
      } catch (error) {
        if (error instanceof HttpError && error.status === 404) {
          throw new CodecError(
            'unknown-schema-id',
            `resolving schema id ${schemaId}: the registry does not know it`,
            error,
          );
        }
        throw classify(`resolving schema id ${schemaId}`, error);
      }
      const pkg = packageOf(schema.schema);
      const file = pkg === undefined ? undefined : fileOfPackage(pkg);
      if (!file) {
        throw new CodecError(
          'unknown-schema',
          `resolving schema id ${schemaId}: package ${pkg ?? '(none)'} is not a Vigil event family`,
        );
      }
      filesById.set(schemaId, file);
      return file;
    },
  };
}
