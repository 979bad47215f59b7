import { CodecError } from '../errors.js';
import type { SchemaRegistryClient } from '../registry.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { locateMessage, messageAt } from './proto-files.js';
import { staticType } from './static-types.js';

export { decodeFrame, encodeFrame, encodeMessageIndexes, type Frame } from './frame.js';
export { locateMessage, messageAt, type MessageLocation } from './proto-files.js';

/** A record value decoded into its Vigil message. */
export interface DecodedRecord<T = object> {
  /** Fully qualified type, for example "vigil.process.v1.ProcessEvent". */
  readonly typeName: string;
  /** Instance of the generated class of that type. */
  readonly message: T;
  readonly schemaId: number;
  readonly messageIndexes: readonly number[];
}

/**
 * Turns Vigil messages into Kafka record values (Confluent framing) and back. Schema ids come from
 * the registry; message indexes from the registered .proto text (see schemas/FORMAT.md).
 */
export interface EventCodec {
  /**
   * Registers the files declaring these types (producers call this once at start, before any
   * encode). Idempotent. Throws RetryableError while the registry is unreachable.
   */
  register(typeNames: readonly string[]): Promise<void>;
  /** Frames a message. Throws TypeError (a programmer error) for a type not registered first. */
  encode(typeName: string, message: object): Buffer;
  /**
   * Decodes a framed record value. Throws CodecError for bad input (truncated, wrong magic byte,
   * unknown schema id or message index, payload not of that type); RetryableError while the
   * registry is unreachable. Never throws anything else for any input bytes.
   */
  decode<T = object>(bytes: Uint8Array): Promise<DecodedRecord<T>>;
}

/** Creates a codec over a registry client; no I/O until register or decode is called. */
export function createEventCodec(registry: SchemaRegistryClient): EventCodec {
  const schemaIdOfFile = new Map<string, number>();

  function locate(typeName: string) {
    const location = locateMessage(typeName);
    const type = staticType(typeName);
    if (!location || !type) throw new TypeError(`not a Vigil message type: ${typeName}`);
    return { location, type };
  }

  return {
    async register(typeNames) {
      for (const typeName of typeNames) {
        const { location } = locate(typeName);
        if (!schemaIdOfFile.has(location.protoFile)) {
          schemaIdOfFile.set(location.protoFile, await registry.registerFile(location.protoFile));
        }
      }
    },

    encode(typeName, message) {
      const { location, type } = locate(typeName);
      const schemaId = schemaIdOfFile.get(location.protoFile);
      if (schemaId === undefined)
        throw new TypeError(`encoding ${typeName}: register its file first`);
      const payload = type.encode(message).finish();
      return encodeFrame({ schemaId, messageIndexes: location.messageIndexes, payload });
    },

    async decode<T>(bytes: Uint8Array): Promise<DecodedRecord<T>> {
      const frame = decodeFrame(bytes);
      const file = await registry.fileOfSchemaId(frame.schemaId);
      const typeName = messageAt(file, frame.messageIndexes);
      const type = typeName === undefined ? undefined : staticType(typeName);
      if (typeName === undefined || !type) {
        throw new CodecError(
          'unknown-message-index',
          `decoding record: ${file} has no message at index [${frame.messageIndexes.join(', ')}]`,
        );
      }
      let message: object;
      try {
        message = type.decode(frame.payload);
      } catch (error) {
        throw new CodecError(
          'bad-payload',
          `decoding ${typeName}: ${(error as Error).message}`,
          error,
        );
      }
      return {
        typeName,
        message: message as T,
        schemaId: frame.schemaId,
        messageIndexes: frame.messageIndexes,
      };
    },
  };
}
