import type { vigil } from '@vigil/schemas/gen';
import { decodeFrame, type EventCodec } from '@vigil/pipeline/codec';
import { formatUuid } from '@vigil/pipeline/events';
import type { Logger } from '@vigil/pipeline/log';
import { macMatches } from '@vigil/pipeline/signature';
import type {
  OutputRecord,
  PipelineEvent,
  Transform,
  TransformResult,
} from '@vigil/pipeline/transform';
import { verifiedTopicOf } from './config.js';
import type { KeyRing } from './keys.js';
import type { ReplayWindow } from './replay.js';
import type { WatermarkRegistry } from './watermarks.js';
import {
  VERIFY_HEADER,
  type VerifyHeader,
  type WatermarkCheck,
} from '@vigil/pipeline/verify-header';

/** Why an event was quarantined: the `reason` header and metric label (a closed set). */
export type QuarantineReason =
  'bad-envelope' | 'unsigned' | 'unknown-key' | 'bad-signature' | 'replayed';

/** What verify attaches to a valid event as the `vigil-verify` header (JSON). */
export type VerifyResult = VerifyHeader;

/** The header names verify writes. */
export { VERIFY_HEADER };
export const QUARANTINE_REASON_HEADER = 'vigil-quarantine-reason';
export const QUARANTINE_DETAIL_HEADER = 'vigil-quarantine-detail';

interface EventWithEnvelope {
  readonly envelope?: vigil.envelope.v1.IEnvelope | null;
}

/** Watermark status of reported objects against the registry. Pure apart from the lookup. */
export function checkWatermarks(
  objects: readonly vigil.process.v1.ISharedObject[],
  registry: WatermarkRegistry,
): WatermarkCheck[] {
  return objects.map((object) => {
    const path = Buffer.from(object.path ?? []).toString('utf8');
    const id = object.watermark?.id;
    if (!id || id.length !== 16) return { path, status: 'unsigned' as const };
    const text = formatUuid(id);
    const issued = registry.lookup(text);
    return issued
      ? { path, status: 'signed' as const, id: text, ...issued }
      : { path, status: 'unknown' as const, id: text };
  });
}

/** What {@link createVerifyTransform} needs. */
export interface VerifyDeps {
  readonly codec: EventCodec;
  readonly keys: KeyRing;
  readonly replay: ReplayWindow;
  readonly watermarks: WatermarkRegistry;
  readonly logger: Logger;
  /** Logs and counts a quarantined event (one function, so they agree). */
  readonly quarantined: (reason: QuarantineReason, event: PipelineEvent, detail: string) => void;
  readonly healthcheck: () => Promise<void>;
  readonly close: () => Promise<void>;
}

/**
 * The verify transform. Per event: decode (bad bytes → PermanentError → dead-letter topic); check
 * the envelope, the HMAC over the ORIGINAL payload bytes (never re-encoded), and the replay window;
 * then the watermarks of process events. Valid → the same key and value, byte for byte, to the
 * verified topic with a `vigil-verify` header; invalid → the quarantine topic with the reason.
 */
export function createVerifyTransform(
  config: { readonly requireSignature: boolean; readonly quarantineTopic: string },
  deps: VerifyDeps,
): Transform {
  function quarantine(
    event: PipelineEvent,
    reason: QuarantineReason,
    detail: string,
  ): TransformResult {
    deps.quarantined(reason, event, detail);
    const record: OutputRecord = {
      topic: config.quarantineTopic,
      key: event.key,
      value: event.value,
      headers: {
        ...event.headers,
        [QUARANTINE_REASON_HEADER]: reason,
        [QUARANTINE_DETAIL_HEADER]: detail,
        'vigil-origin-topic': event.topic,
        'vigil-origin-partition': String(event.partition),
        'vigil-origin-offset': event.offset,
      },
    };
    return [record];
  }

  return {
    healthcheck: deps.healthcheck,
    close: deps.close,
    async transform(event) {
      const decoded = await deps.codec.decode<EventWithEnvelope & vigil.process.v1.IProcessEvent>(
        event.value,
      );
      const envelope = decoded.message.envelope;
      if (!envelope?.eventId || envelope.eventId.length !== 16)
        return quarantine(event, 'bad-envelope', 'no 16-byte event id');
      if (!envelope.sourceKind) return quarantine(event, 'bad-envelope', 'source kind unspecified');
      const eventId = formatUuid(envelope.eventId);

      let result: VerifyResult;
      const signature = envelope.signature;
      if (!signature?.hmacSha256 || signature.hmacSha256.length === 0) {
        if (config.requireSignature)
          return quarantine(event, 'unsigned', `event ${eventId} carries no signature`);
        result = { signature: 'unsigned' };
      } else {
        const keyId = signature.keyId ?? '';
        const key = deps.keys.get(keyId);
        if (!key)
          return quarantine(
            event,
            'unknown-key',
            `key id ${JSON.stringify(keyId)} is not in the key ring`,
          );
        // The MAC covers the payload exactly as it travelled: decodeFrame gives those bytes untouched.
        const payload = decodeFrame(event.value).payload;
        const signed = {
          eventId: envelope.eventId,
          sourceKind: envelope.sourceKind,
          host: envelope.host ?? '',
          producerId: envelope.producerId ?? '',
          sequence: envelope.sequence ?? 0,
          timeUnixNano: envelope.timeUnixNano ?? 0,
        };
        if (!macMatches(key, signed, payload, signature.hmacSha256)) {
          return quarantine(
            event,
            'bad-signature',
            `HMAC of event ${eventId} does not match key ${keyId}`,
          );
        }
        result = { signature: 'valid', keyId };
      }

      // Only authentic events enter the window, so forged copies cannot block the real one.
      const seen = deps.replay.check(eventId, `${event.topic}/${event.partition}/${event.offset}`);
      if (seen === 'replay')
        return quarantine(
          event,
          'replayed',
          `event ${eventId} was already seen within the replay window`,
        );

      if (decoded.typeName === 'vigil.process.v1.ProcessEvent') {
        const objects = decoded.message.start?.sharedObjects ?? decoded.message.end?.dlopened ?? [];
        result = { ...result, watermarks: checkWatermarks(objects, deps.watermarks) };
      }
      return [
        {
          topic: verifiedTopicOf(event.topic),
          key: event.key,
          value: event.value,
          headers: { ...event.headers, [VERIFY_HEADER]: JSON.stringify(result) },
        },
      ];
    },
  };
}
