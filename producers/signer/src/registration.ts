import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import Long from 'long';
import type { Producer } from 'kafkajs';
import type { EventCodec } from '@vigil/pipeline/codec';
import { PermanentError } from '@vigil/pipeline/errors';
import { formatUuid, newEventId, nowUnixNano } from '@vigil/pipeline/events';
import { signMessage } from '@vigil/pipeline/signature';
import { vigil } from '@vigil/schemas/gen';
import { fileSource, readElfNotes, type Watermark } from './elf-notes.js';

export const WATERMARK_EVENT = 'vigil.watermark.v1.WatermarkEvent';
const MS = 1_000_000n;
const HASH_CHUNK_BYTES = 1024 * 1024;

/** Why a file is not registered. */
export type WatermarkErrorCode = 'missing-watermark' | 'mismatch';

/**
 * A linked file does not carry the watermark it is to be registered under, or carries it with other
 * metadata. Permanent: nothing is published for it.
 */
export class WatermarkError extends PermanentError {
  readonly code: WatermarkErrorCode;
  constructor(code: WatermarkErrorCode, message: string) {
    super(message, { errorType: 'signature' });
    this.code = code;
  }
}

/** The watermark a file must carry; the metadata, when given, must match the note's. */
export interface ExpectedWatermark {
  readonly id: Buffer;
  readonly package?: string | undefined;
  readonly version?: string | undefined;
  readonly builder?: string | undefined;
}

/** A linked file checked and measured, ready to publish. */
export interface PreparedRegistration {
  /** Absolute path. */
  readonly path: string;
  /** The watermark as read from the file's note. */
  readonly watermark: Watermark;
  readonly sha256: Buffer;
  /** GNU build-id, when the file has one. */
  readonly buildId: Buffer | undefined;
}

/**
 * Reads a linked file's notes and its SHA-256 through one open file. Rejects with WatermarkError
 * when it does not carry `expected.id` (or carries it with other package, version or builder),
 * ElfError when it is not a readable ELF file, the file system's error when it cannot be read.
 */
export async function prepareRegistration(
  file: string,
  expected: ExpectedWatermark,
): Promise<PreparedRegistration> {
  const path = resolve(file);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const notes = await readElfNotes(fileSource(handle, size));
    const id = formatUuid(expected.id);
    const watermark = notes.watermarks.find((w) => w.id.equals(expected.id));
    if (!watermark) {
      const found = notes.watermarks.map((w) => formatUuid(w.id));
      throw new WatermarkError(
        'missing-watermark',
        `${path}: does not carry watermark ${id} (${found.length > 0 ? `it carries ${found.join(', ')}` : 'it has no Vigil watermark note'}); not registered`,
      );
    }
    for (const key of ['package', 'version', 'builder'] as const) {
      const want = expected[key];
      if (want !== undefined && want !== watermark[key])
        throw new WatermarkError(
          'mismatch',
          `${path}: watermark ${id} has ${key} ${JSON.stringify(watermark[key])}, expected ${JSON.stringify(want)}; not registered`,
        );
    }
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(HASH_CHUNK_BYTES);
    for (let at = 0; ;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
    return { path, watermark, sha256: hash.digest(), buildId: notes.buildId };
  } finally {
    await handle.close();
  }
}

/** The site key registrations are signed with. */
export interface SigningKey {
  readonly keyId: string;
  readonly key: Buffer;
}

/** What was published for one file: the JSON line `vigil sign register` prints. */
export interface RegistrationResult {
  readonly watermarkId: string;
  readonly package: string;
  readonly version: string;
  readonly builder: string;
  readonly time: string;
  readonly path: string;
  readonly sha256: string;
  readonly buildId: string | null;
  readonly eventId: string;
  readonly keyId: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** Builds, signs and sends watermark registrations. */
export interface WatermarkPublisher {
  /** The framed record value of a registration with a fresh envelope. Pure but for the sequence counter. */
  encode(prepared: PreparedRegistration): { value: Buffer; eventId: Buffer };
  /**
   * Publishes one registration keyed by the 16 id bytes, acks from all in-sync replicas. Resolves
   * once Kafka has it; rejects with the client's error when Kafka refuses.
   */
  publish(prepared: PreparedRegistration): Promise<RegistrationResult>;
}

/**
 * Creates a publisher over a connected producer and a codec whose WatermarkEvent is registered.
 * Without `signingKey` the registrations go unsigned: the caller decides whether that is allowed.
 */
export function createWatermarkPublisher(deps: {
  readonly codec: EventCodec;
  readonly producer: Pick<Producer, 'send'>;
  readonly topic: string;
  readonly host: string;
  readonly producerId: string;
  readonly signingKey: SigningKey | undefined;
  readonly now?: () => bigint;
}): WatermarkPublisher {
  let sequence = 0n;
  const now = deps.now ?? nowUnixNano;

  const encode = (prepared: PreparedRegistration) => {
    sequence++;
    const time = now();
    const eventId = newEventId(Number(time / MS));
    const message = vigil.watermark.v1.WatermarkEvent.create({
      envelope: {
        eventId,
        sourceKind: vigil.envelope.v1.SourceKind.SOURCE_KIND_SIGNER,
        host: deps.host,
        producerId: deps.producerId,
        sequence: Long.fromString(sequence.toString(), true),
        timeUnixNano: Long.fromString(time.toString(), true),
      },
      registration: {
        watermarkId: prepared.watermark.id,
        package: prepared.watermark.package,
        version: prepared.watermark.version,
        builder: prepared.watermark.builder,
        binarySha256: prepared.sha256,
        ...(prepared.buildId ? { buildId: prepared.buildId } : {}),
        path: Buffer.from(prepared.path, 'utf8'),
      },
    });
    if (deps.signingKey)
      signMessage(
        vigil.watermark.v1.WatermarkEvent,
        message,
        deps.signingKey.keyId,
        deps.signingKey.key,
      );
    const value = deps.codec.encode(WATERMARK_EVENT, message);
    return { value, eventId };
  };

  return {
    encode,
    async publish(prepared) {
      const { value, eventId } = encode(prepared);
      const [meta] = await deps.producer.send({
        topic: deps.topic,
        acks: -1,
        messages: [{ key: prepared.watermark.id, value }],
      });
      const w = prepared.watermark;
      return {
        watermarkId: formatUuid(w.id),
        package: w.package,
        version: w.version,
        builder: w.builder,
        time: w.time,
        path: prepared.path,
        sha256: prepared.sha256.toString('hex'),
        buildId: prepared.buildId ? prepared.buildId.toString('hex') : null,
        eventId: formatUuid(eventId),
        keyId: deps.signingKey?.keyId ?? null,
        topic: deps.topic,
        partition: meta?.partition ?? -1,
        offset: meta?.baseOffset ?? '',
      };
    },
  };
}
