import { Counter } from 'prom-client';
import { createEventCodec } from '@vigil/pipeline/codec';
import type { WorkerConfig } from '@vigil/pipeline/config';
import { decodeFrame } from '@vigil/pipeline/codec';
import { macMatches } from '@vigil/pipeline/signature';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { Transform, WorkerDeps } from '@vigil/pipeline/transform';
import { RetryableError } from '@vigil/pipeline/errors';
import { verifiedTopicOf, type VerifyConfig } from './config.js';
import { createKeyRing } from './keys.js';
import { createReplayWindow } from './replay.js';
import { createVerifyTransform, type QuarantineReason } from './verify.js';
import { createWatermarkRegistry, startWatermarkLoader } from './watermarks.js';

/**
 * Builds the verify transform from its config: key ring from files, replay window, watermark
 * registry (read from its compacted topic before the first event is verified), codec.
 */
export async function createVerifyWorker(
  config: VerifyConfig & WorkerConfig,
  deps: WorkerDeps,
): Promise<Transform> {
  const { logger, telemetry, kafka } = deps;
  const codec = createEventCodec(createSchemaRegistryClient({ url: config.registryUrl }));
  const keys = await createKeyRing(config.keysDir, {
    reloadMs: config.keysReloadMs,
    onError: (error) =>
      telemetry.error(
        { errorType: 'config', stage: 'process', error, keysDir: config.keysDir },
        'reloading keys failed: keeping the previous ones',
      ),
  });
  const quarantinedTotal = new Counter({
    name: 'verify_quarantined_events_total',
    help: 'Events sent to the quarantine topic, by reason.',
    labelNames: ['reason'],
    registers: [telemetry.registry],
  });
  const watermarkRecords = new Counter({
    name: 'verify_watermark_records_total',
    help: 'Records of the watermark topic applied, by result.',
    labelNames: ['result'],
    registers: [telemetry.registry],
  });

  const watermarks = createWatermarkRegistry(codec, (record, envelope) => {
    // A registration is trusted only when signed by a key of the ring, like any other event.
    const signature = envelope?.signature;
    const key = signature?.keyId ? keys.get(signature.keyId) : undefined;
    if (!envelope?.eventId || !key || !signature?.hmacSha256) return !config.requireSignature;
    return macMatches(
      key,
      {
        eventId: envelope.eventId,
        sourceKind: envelope.sourceKind ?? 0,
        host: envelope.host ?? '',
        producerId: envelope.producerId ?? '',
        sequence: envelope.sequence ?? 0,
        timeUnixNano: envelope.timeUnixNano ?? 0,
      },
      decodeFrame(record.value).payload,
      signature.hmacSha256,
    );
  });

  if (config.createTopics) {
    const topics = [
      ...config.kafka.topics.map(verifiedTopicOf),
      config.quarantineTopic,
      config.deadLetterTopic,
    ];
    await kafka.ensureTopics(
      topics.map((topic) => ({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
        cleanupPolicy: 'delete' as const,
      })),
    );
    await kafka.ensureTopics([
      {
        topic: config.watermarkTopic,
        numPartitions: 1,
        replicationFactor: 1,
        cleanupPolicy: 'compact',
      },
    ]);
  }
  const loader = await startWatermarkLoader({
    kafka,
    topic: config.watermarkTopic,
    groupPrefix: config.kafka.groupId,
    registry: watermarks,
    onError: (error, record) =>
      telemetry.error(
        { errorType: 'codec', stage: 'receive', error, topic: record.topic, offset: record.offset },
        'skipping an unreadable watermark record',
      ),
    onApplied: (result) => watermarkRecords.inc({ result }),
  });

  return createVerifyTransform(config, {
    codec,
    keys,
    replay: createReplayWindow({
      windowMs: config.replayWindowMs,
      maxIds: config.replayWindowMaxIds,
    }),
    watermarks,
    logger,
    quarantined(reason: QuarantineReason, event, detail) {
      quarantinedTotal.inc({ reason });
      logger.warn(
        { reason, topic: event.topic, partition: event.partition, offset: event.offset, detail },
        'event quarantined',
      );
    },
    async healthcheck() {
      if (config.requireSignature && keys.ids().length === 0) {
        throw new Error(
          `checking keys: no <key id>.key file in ${config.keysDir}, so every event would be quarantined`,
        );
      }
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new RetryableError(
                `loading watermarks from ${config.watermarkTopic}: not caught up after 60 s`,
                { errorType: 'timeout' },
              ),
            ),
          60_000,
        ).unref(),
      );
      await Promise.race([loader.caughtUp, timeout]);
      logger.info(
        { keyIds: keys.ids(), watermarks: watermarks.size },
        'keys and watermarks loaded',
      );
    },
    async close() {
      keys.close();
      await loader.stop();
    },
  });
}
