import type { vigil } from '@vigil/schemas/gen';
import type { EventCodec } from '@vigil/pipeline/codec';
import { PermanentError } from '@vigil/pipeline/errors';
import { formatUuid } from '@vigil/pipeline/events';
import { discard, type PipelineEvent, type Transform } from '@vigil/pipeline/transform';
import type { PathClass } from './config.js';
import type { UserDirectory } from './directory.js';
import {
  endDocument,
  startDocument,
  type EcsDocument,
  type EndSummary,
  type StartSummary,
  type VerifyInfo,
} from './ecs.js';
import type { JoinCache } from './join.js';
import { readVerifyHeader } from '@vigil/pipeline/verify-header';

/** The verify worker's verdict; a malformed header is a CodecError, so the event is dead-lettered. */
function verifyInfo(event: PipelineEvent): VerifyInfo | undefined {
  return readVerifyHeader(event.headers);
}

/**
 * The enrich transform: a verified process event becomes one ECS document (JSON, key = event id)
 * on the output topic. Starts are remembered to complete their end's document; an end that arrives
 * first is remembered to complete its start's document. Other event types are dropped, counted.
 */
export function createEnrichTransform(
  config: {
    readonly outputTopic: string;
    readonly pathRules: ReadonlyArray<{ readonly prefix: string; readonly class: PathClass }>;
  },
  deps: {
    readonly codec: EventCodec;
    readonly directory: UserDirectory;
    readonly join: JoinCache<StartSummary, EndSummary>;
    readonly healthcheck: () => Promise<void>;
    readonly close: () => Promise<void>;
  },
): Transform {
  const output = (key: string, document: EcsDocument) => [
    {
      topic: config.outputTopic,
      key,
      value: Buffer.from(JSON.stringify(document)),
      headers: { 'content-type': 'application/json' },
    },
  ];
  return {
    healthcheck: deps.healthcheck,
    close: deps.close,
    async transform(event) {
      const decoded = await deps.codec.decode<vigil.process.v1.ProcessEvent>(event.value);
      if (decoded.typeName !== 'vigil.process.v1.ProcessEvent') return discard('unsupported-type');
      const { envelope, start, end } = decoded.message;
      if (!envelope?.eventId || envelope.eventId.length !== 16) {
        throw new PermanentError('enriching: event without a 16-byte event id', {
          errorType: 'codec',
        });
      }
      const eventId = formatUuid(envelope.eventId);
      const ctx = {
        directory: deps.directory,
        pathRules: config.pathRules,
        verify: verifyInfo(event),
      };
      if (start) {
        const { document, summary } = startDocument(envelope, start, ctx, deps.join.endOf(eventId));
        deps.join.rememberStart(eventId, summary);
        return output(eventId, document);
      }
      if (end) {
        const startId = end.startEventId?.length === 16 ? formatUuid(end.startEventId) : undefined;
        const { document, summary } = endDocument(
          envelope,
          end,
          ctx,
          startId ? deps.join.startOf(startId) : undefined,
        );
        if (startId && !deps.join.startOf(startId)) deps.join.rememberEnd(startId, summary);
        return output(eventId, document);
      }
      return discard('empty-body');
    },
  };
}
