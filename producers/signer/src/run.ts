import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '@vigil/config/config';
import { createEventCodec } from '@vigil/pipeline/codec';
import { parseUuid } from '@vigil/pipeline/events';
import { createKafka, ensureTopics } from '@vigil/pipeline/kafka';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import { parseKeyText } from '@vigil/pipeline/signature';
import { kafkaConfigOfSigner, loadSignerConfig, type SignerConfig } from './config.js';
import { linkerOutput, runLinker } from './link.js';
import {
  createWatermarkPublisher,
  prepareRegistration,
  WATERMARK_EVENT,
  type ExpectedWatermark,
  type PreparedRegistration,
  type RegistrationResult,
  type SigningKey,
} from './registration.js';
import {
  runSignTool,
  signToolOutputSchema,
  signToolPath,
  type SignToolOptions,
  type SignToolOutput,
} from './sign-tool.js';

/**
 * The three `vigil sign` commands. Each loads and validates its config (section `signer:`) and the
 * signing key before anything else, so a missing key never leaves a linked but unregistered file.
 */

/** What every command takes. */
export interface SignRunOptions {
  /** The YAML config file (section `signer:`). */
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Config values from flags, by key path (`keyId`, `allowUnsigned`, `topic`). */
  readonly flags?: Record<string, unknown>;
  /** Where result lines go (default: stdout). */
  readonly print?: (line: string) => void;
  /** Where warnings go (default: stderr). */
  readonly warn?: (line: string) => void;
}

const printOf = (o: SignRunOptions) => o.print ?? ((line: string) => console.log(line));
const warnOf = (o: SignRunOptions) => o.warn ?? ((line: string) => console.error(line));

function configOf(options: SignRunOptions): SignerConfig {
  return loadSignerConfig({
    file: options.file,
    ...(options.env ? { env: options.env } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
}

/**
 * The key registrations are signed with: `keyId` + `keyFile`, or none when `allowUnsigned` is set.
 * Throws ConfigError when there is no key and unsigned is not allowed, or the key file is unreadable
 * or not hex.
 */
export async function signingKeyOf(config: SignerConfig): Promise<SigningKey | undefined> {
  if (config.keyId !== undefined && config.keyFile !== undefined) {
    try {
      return { keyId: config.keyId, key: parseKeyText(await readFile(config.keyFile, 'utf8')) };
    } catch (error) {
      throw new ConfigError(`signer.keyFile: ${config.keyFile}: ${(error as Error).message}`, [], {
        cause: error,
      });
    }
  }
  if (config.allowUnsigned) return undefined;
  throw new ConfigError(
    'signer: no signing key: set keyId and keyFile (--key-id and --key-file, or VIGIL_SIGNER_KEY_ID and VIGIL_SIGNER_KEY_FILE), or allowUnsigned (--allow-unsigned) to publish registrations the verify worker will not trust',
  );
}

/**
 * The watermark a file must carry, from the JSON line vigil-sign printed (a file holding it).
 * Throws when the file cannot be read or is not that JSON.
 */
export async function expectedOfWatermarkFile(path: string): Promise<ExpectedWatermark> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text.trim());
  } catch (error) {
    throw new Error(`reading ${path}: not vigil-sign's JSON line`, { cause: error });
  }
  const parsed = signToolOutputSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`reading ${path}: not vigil-sign's JSON line: ${parsed.error.message}`);
  return expectedOf(parsed.data);
}

/** The watermark an object vigil-sign wrote puts into what it is linked into. Pure. */
function expectedOf(output: SignToolOutput): ExpectedWatermark {
  return {
    id: parseUuid(output.watermarkId),
    package: output.package,
    version: output.version,
    builder: output.builder,
  };
}

/** `vigil sign object`: runs vigil-sign, prints its JSON line. Resolves with its exit status. */
export async function runSignObject(
  options: SignRunOptions & { readonly object: SignToolOptions },
): Promise<number> {
  const config = configOf(options);
  const run = await runSignTool(signToolPath(config.signTool), {
    ...options.object,
    out: resolve(options.object.out),
  });
  if (run.output) printOf(options)(JSON.stringify(run.output));
  return run.status;
}

async function publishAll(
  config: SignerConfig,
  signingKey: SigningKey | undefined,
  prepared: readonly PreparedRegistration[],
  options: SignRunOptions,
): Promise<RegistrationResult[]> {
  if (!signingKey)
    warnOf(options)(
      'vigil sign: publishing unsigned registrations (allowUnsigned): a verify worker that requires signatures ignores them',
    );
  const codec = createEventCodec(createSchemaRegistryClient({ url: config.registryUrl }));
  await codec.register([WATERMARK_EVENT]);
  const kafka = createKafka(kafkaConfigOfSigner(config));
  // One partition, as the verify worker creates it when it starts first: the registry is small.
  await ensureTopics(kafka, [
    { topic: config.topic, numPartitions: 1, replicationFactor: 1, cleanupPolicy: 'compact' },
  ]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const host = hostname();
    const publisher = createWatermarkPublisher({
      codec,
      producer,
      topic: config.topic,
      host,
      producerId: `signer/${host}/${Date.now().toString(36)}`,
      signingKey,
    });
    const results: RegistrationResult[] = [];
    for (const p of prepared) {
      const result = await publisher.publish(p);
      printOf(options)(JSON.stringify(result));
      results.push(result);
    }
    return results;
  } finally {
    await producer.disconnect();
  }
}

/**
 * `vigil sign register`: checks that every file carries the watermark (all of them, before anything
 * is published), then publishes one registration per file and prints one JSON line each. Rejects
 * with WatermarkError when a file does not carry it, ElfError when a file is not ELF, ConfigError
 * for bad config or a missing key, and the client's error when the registry or Kafka fail.
 */
export async function runSignRegister(
  options: SignRunOptions & {
    readonly expected: ExpectedWatermark;
    readonly files: readonly string[];
  },
): Promise<RegistrationResult[]> {
  const config = configOf(options);
  const signingKey = await signingKeyOf(config);
  if (options.files.length === 0) throw new Error('registering: no file given');
  const prepared: PreparedRegistration[] = [];
  for (const file of options.files)
    prepared.push(await prepareRegistration(file, options.expected));
  return publishAll(config, signingKey, prepared, options);
}

/**
 * `vigil sign link`: writes the note object in a temporary directory, runs the linker command with
 * it appended, then registers the linker's output (`-o`). Resolves with the exit status: vigil-sign's
 * or the linker's when either fails (nothing is registered then), else 0. Rejects as
 * {@link runSignRegister} does.
 */
export async function runSignLink(
  options: SignRunOptions & {
    readonly object: Omit<SignToolOptions, 'out'>;
    readonly linker: readonly string[];
  },
): Promise<number> {
  const config = configOf(options);
  const signingKey = await signingKeyOf(config);
  if (options.linker.length === 0) throw new Error('linking: no linker command given after --');
  const dir = await mkdtemp(join(tmpdir(), 'vigil-sign-'));
  try {
    const object = join(dir, 'vigil-watermark.o');
    const sign = await runSignTool(signToolPath(config.signTool), {
      ...options.object,
      out: object,
    });
    if (!sign.output) return sign.status;
    const status = await runLinker(options.linker, object);
    if (status !== 0) return status;
    const prepared = await prepareRegistration(
      resolve(linkerOutput(options.linker)),
      expectedOf(sign.output),
    );
    await publishAll(config, signingKey, [prepared], options);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
