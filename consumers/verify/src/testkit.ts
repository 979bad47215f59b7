import { vigil } from '@vigil/schemas/gen';
import type { EventCodec } from '@vigil/pipeline/codec';
import { computeMac } from '@vigil/pipeline/signature';

/**
 * Signs a Vigil event as a producer does (FORMAT.md): the MAC covers the envelope fields and the
 * body bytes, never field 1, so the signature can be set after computing it over the encoding.
 * For tests and `vigil sign`-like tools. Mutates and returns the message's envelope signature.
 */
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
  const envelope = message.envelope!;
  const payload = type.encode(message as never).finish();
  const mac = computeMac(
    key,
    {
      eventId: envelope.eventId!,
      sourceKind: envelope.sourceKind ?? 0,
      host: envelope.host ?? '',
      producerId: envelope.producerId ?? '',
      sequence: envelope.sequence ?? 0,
      timeUnixNano: envelope.timeUnixNano ?? 0,
    },
    payload,
  );
  envelope.signature = { keyId, hmacSha256: mac };
  return message;
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
