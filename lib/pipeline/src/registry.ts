import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { FAMILIES } from '@vigil/schemas/families';
import { CodecError, PermanentError, RetryableError } from './errors.js';
import { fileOfPackage, protoFile } from './codec/proto-files.js';

/** Where the Confluent-compatible registry is (Apicurio: `<base>/apis/ccompat/v7`). */
export interface SchemaRegistryConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

/**
 * Registry calls Vigil needs, on top of @kafkajs/confluent-schema-registry. Registering is for
 * producers; resolving ids is for consumers and needs only read access.
 */
export interface SchemaRegistryClient {
  /**
   * Registers a Vigil .proto file and, first, every file it imports (as schema references).
   * Idempotent: the same text gets the same id. Resolves to the file's schema id.
   */
  registerFile(protoFile: string): Promise<number>;
  /**
   * The .proto file behind a schema id. Throws CodecError 'unknown-schema-id' when the registry does
   * not know the id, 'unknown-schema' when it is not a Vigil file, RetryableError when unreachable.
   */
  fileOfSchemaId(schemaId: number): Promise<string>;
}

/** Subject naming: a family's file under `<topic>-value` (TopicNameStrategy), others under their package. */
export function subjectOf(file: string): string {
  const family = FAMILIES.find((f) => f.protoFile === file);
  return family ? `${family.topic}-value` : protoFile(file).packageName;
}

interface ProtoSchemaLike {
  readonly message?: { readonly fullName?: string };
}

function statusOf(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'status' in error && typeof error.status === 'number') return error.status;
  return undefined;
}

function classify(step: string, error: unknown): Error {
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    return new RetryableError(`${step}: ${detail}`, { errorType: status ? 'http' : 'network', cause: error });
  }
  return new PermanentError(`${step}: ${detail}`, { errorType: 'schema', cause: error });
}

/** Creates a client. No I/O happens until a method is called. */
export function createSchemaRegistryClient(config: SchemaRegistryConfig): SchemaRegistryClient {
  const auth =
    config.username !== undefined ? { username: config.username, password: config.password ?? '' } : undefined;
  const registry = new SchemaRegistry({ host: config.url, ...(auth ? { auth } : {}), retry: { retries: 2 } });
  const registered = new Map<string, Promise<{ id: number; version: number }>>();
  const filesById = new Map<number, string>();

  async function versionOf(subject: string, id: number): Promise<number> {
    // The library returns only the id of a registration; a reference also needs the version.
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const response = await fetch(`${config.url}/subjects/${encodeURIComponent(subject)}/versions`, { headers });
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    const versions = (await response.json()) as number[];
    for (const version of versions.sort((a, b) => b - a)) {
      const one = await fetch(`${config.url}/subjects/${encodeURIComponent(subject)}/versions/${version}`, { headers });
      if (one.ok && ((await one.json()) as { id: number }).id === id) return version;
    }
    throw new PermanentError(`registering ${subject}: id ${id} is not among its versions`, { errorType: 'schema' });
  }

  async function register(file: string): Promise<{ id: number; version: number }> {
    const { source, imports } = protoFile(file);
    const references = [];
    for (const name of imports) {
      const ref = await registerOnce(name);
      references.push({ name, subject: subjectOf(name), version: ref.version });
    }
    const subject = subjectOf(file);
    try {
      const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema: source, references }, { subject });
      filesById.set(id, file);
      return { id, version: await versionOf(subject, id) };
    } catch (error) {
      throw classify(`registering ${file} under ${subject}`, error);
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
      let schema: ProtoSchemaLike;
      try {
        schema = (await registry.getSchema(schemaId)) as ProtoSchemaLike;
      } catch (error) {
        if (statusOf(error) === 404) {
          throw new CodecError('unknown-schema-id', `resolving schema id ${schemaId}: the registry does not know it`, error);
        }
        throw classify(`resolving schema id ${schemaId}`, error);
      }
      const fullName = schema.message?.fullName?.replace(/^\./, '') ?? '';
      const file = fileOfPackage(fullName.slice(0, fullName.lastIndexOf('.')));
      if (!file) throw new CodecError('unknown-schema', `resolving schema id ${schemaId}: ${fullName || 'a schema'} is not a Vigil event`);
      filesById.set(schemaId, file);
      return file;
    },
  };
}
