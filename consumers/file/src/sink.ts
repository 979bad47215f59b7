import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { vigil } from '@vigil/schemas/gen';
import { FAMILIES } from '@vigil/schemas/families';
import { createEventCodec } from '@vigil/pipeline/codec';
import { PermanentError, RetryableError } from '@vigil/pipeline/errors';
import { formatUuid } from '@vigil/pipeline/events';
import type { Logger } from '@vigil/pipeline/log';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { Sink } from '@vigil/pipeline/sink';
import { createRecordDecoder, type RecordDecoder } from '@vigil/documents/decode';
import type { FileConfig } from './config.js';
import { createMutex, run } from './files.js';
import { createJsonlFiles } from './jsonl.js';
import { createSessionFiles } from './sessions.js';

export type FileSinkConfig = Pick<
  FileConfig,
  'registryUrl' | 'directory' | 'jsonl' | 'asciicast' | 'rememberIds'
>;

export interface FileSinkDeps {
  readonly logger: Logger;
  readonly decoder?: RecordDecoder;
  readonly now?: () => number;
}

export interface FileSink extends Sink {
  /** Resolves once the compressions of closed files started so far are done. */
  compressed(): Promise<void>;
  /** Closes files older than jsonl.maxAgeMs now (a timer does it at least every minute). */
  rotateExpired(): Promise<void>;
}

function storeError(step: string, error: unknown): RetryableError {
  // Disk full, permissions, I/O errors: an operator may fix them, and Kafka keeps the backlog.
  return new RetryableError(`${step}: ${(error as Error).message}`, {
    errorType: 'store',
    cause: error,
  });
}

/** Creates the sink; no I/O until healthcheck or write. */
export function createFileSink(config: FileSinkConfig, deps: FileSinkDeps): FileSink {
  const now = deps.now ?? Date.now;
  const decoder =
    deps.decoder ??
    createRecordDecoder(createEventCodec(createSchemaRegistryClient({ url: config.registryUrl })));
  const jsonl = createJsonlFiles(
    { directory: config.directory, ...config.jsonl, rememberIds: config.rememberIds },
    deps.logger,
    now,
  );
  const sessions = createSessionFiles({
    directory: join(config.directory, 'sessions'),
    version: config.asciicast.version,
    maxOpenFiles: config.asciicast.maxOpenFiles,
  });
  const serialize = createMutex();
  let timer: NodeJS.Timeout | undefined;
  let recovered = false;

  async function recover() {
    if (recovered) return;
    await jsonl.recover(FAMILIES.map((f) => f.name));
    recovered = true;
  }

  return {
    compressed: () => jsonl.compressed(),
    rotateExpired: () => serialize(() => jsonl.rotateExpired()),

    async healthcheck() {
      try {
        await mkdir(join(config.directory, 'sessions'), { recursive: true });
        await access(config.directory, constants.W_OK);
      } catch (error) {
        throw new PermanentError(`preparing ${config.directory}: ${(error as Error).message}`, {
          errorType: 'config',
          cause: error,
        });
      }
      if (config.jsonl.compression === 'zstd') {
        await run('zstd', ['--version']).catch((error: unknown) => {
          throw new PermanentError(
            `jsonl.compression is zstd but the zstd command does not run (apt-get install zstd): ${(error as Error).message}`,
            { errorType: 'config', cause: error },
          );
        });
      }
      await serialize(recover).catch((error: unknown) => {
        throw storeError('recovering files left by the last run', error);
      });
      timer ??= setInterval(
        () => {
          serialize(() => jsonl.rotateExpired()).catch((error: unknown) =>
            deps.logger.warn({ err: String(error) }, 'rotating files failed'),
          );
        },
        Math.min(60_000, config.jsonl.maxAgeMs),
      );
      timer.unref();
    },

    write(batch, _signal) {
      return serialize(async () => {
        await recover().catch((error: unknown) => {
          throw storeError('recovering files left by the last run', error);
        });
        const rejected: string[] = [];
        const byFamily = new Map<string, Array<{ id: string; text: string }>>();
        const sessionEvents: Array<{
          id: string;
          message: vigil.session.v1.ISessionEvent;
          host: string;
          time: bigint;
        }> = [];
        for (const event of batch) {
          try {
            const read = await decoder.read(event);
            const record = read.record;
            let doc = read.document as Record<string, unknown>;
            // A prepared JSON document is its own raw form; a protobuf record keeps its bytes.
            if (config.jsonl.includeRaw && record)
              doc = {
                ...doc,
                vigil: { ...(doc.vigil as object), raw: event.value.toString('base64') },
              };
            const lines = byFamily.get(read.family) ?? [];
            lines.push({ id: read.eventId, text: JSON.stringify(doc) });
            byFamily.set(read.family, lines);
            if (record?.family === 'session' && config.asciicast.enabled) {
              const message = record.message as vigil.session.v1.ISessionEvent;
              if (message.sessionId?.length === 16) {
                sessionEvents.push({
                  id: formatUuid(message.sessionId),
                  message,
                  host: record.envelope.host ?? '',
                  time: record.timeUnixNano,
                });
              }
            }
          } catch (error) {
            if (!(error instanceof PermanentError)) throw error;
            rejected.push(
              `offset ${event.topic}/${event.partition}/${event.offset}: ${error.message}`,
            );
          }
        }
        try {
          for (const [family, lines] of byFamily) await jsonl.append(family, lines);
          for (const s of sessionEvents)
            await sessions.append(s.id, s.message, { host: s.host, timeUnixNano: s.time });
          await jsonl.flush();
          await sessions.flush();
        } catch (error) {
          throw storeError('writing files', error);
        }
        if (rejected.length > 0) {
          throw new PermanentError(
            `writing files: ${rejected.length} of ${batch.length} events rejected; first: ${rejected[0]}`,
            { errorType: 'codec' },
          );
        }
      });
    },

    async close() {
      if (timer) clearInterval(timer);
      await serialize(async () => {
        await sessions.close();
        await jsonl.close();
      });
    },
  };
}
