import { createEventCodec } from '@vigil/pipeline/codec';
import type { WorkerConfig } from '@vigil/pipeline/config';
import { createSchemaRegistryClient } from '@vigil/pipeline/registry';
import type { Transform, WorkerDeps } from '@vigil/pipeline/transform';
import type { EnrichConfig } from './config.js';
import { createFileDirectory } from './directory.js';
import type { EndSummary, StartSummary } from './ecs.js';
import { createEnrichTransform } from './enrich.js';
import { createJoinCache } from './join.js';

/** Builds the enrich transform from its config (reads the passwd and group files; rejects if unreadable). */
export async function createEnrichWorker(
  config: EnrichConfig & WorkerConfig,
  deps: WorkerDeps,
): Promise<Transform> {
  const { telemetry, kafka, logger } = deps;
  const directory = await createFileDirectory({
    passwdFile: config.passwdFile,
    groupFile: config.groupFile,
    reloadMs: config.directoryReloadMs,
    onError: (error) =>
      telemetry.error(
        { errorType: 'config', stage: 'process', error },
        'reloading passwd/group failed: keeping the previous tables',
      ),
  });
  if (config.createTopics) {
    await kafka.ensureTopics(
      [config.outputTopic, config.deadLetterTopic].map((topic) => ({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
        cleanupPolicy: 'delete' as const,
      })),
    );
  }
  return createEnrichTransform(config, {
    codec: createEventCodec(createSchemaRegistryClient({ url: config.registryUrl })),
    directory,
    join: createJoinCache<StartSummary, EndSummary>(config.joinCacheSize),
    healthcheck: async () =>
      logger.info(
        { passwdFile: config.passwdFile, groupFile: config.groupFile },
        'directory loaded',
      ),
    close: async () => directory.close(),
  });
}
