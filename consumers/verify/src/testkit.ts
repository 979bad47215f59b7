import { vigil } from '@vigil/schemas/gen';
import type { EventCodec } from '@vigil/pipeline/codec';
import { signMessage as signEnvelope } from '@vigil/pipeline/signature';

/** Signs a Vigil event as a producer does (FORMAT.md); mutates and returns the message. */
export function signMessage<T extends { envelope?: vigil.envelope.v1.IEnvelope | null }>(
  typeName: 'vigil.process.v1.ProcessEvent' | 'vigil.watermark.v1.WatermarkEvent',
  message: T,
  keyId: string,
  key: Buffer,
): T {
  const type =
    typeName === 'vigil.process.v1.ProcessEvent'
      ? vigil.process.v1.ProcessEvent
      : vigil.watermark.v1.WatermarkEvent;
  return signEnvelope(type as { encode(m: T): { finish(): Uint8Array } }, message, keyId, key);
}

/** Frames a signed message for Kafka. */
export function signedRecord(
  codec: EventCodec,
  typeName: 'vigil.process.v1.ProcessEvent' | 'vigil.watermark.v1.WatermarkEvent',
  message: object,
  keyId: string,
  key: Buffer,
): Buffer {
  return codec.encode(
    typeName,
    signMessage(typeName, message as { envelope?: vigil.envelope.v1.IEnvelope | null }, keyId, key),
  );
}
