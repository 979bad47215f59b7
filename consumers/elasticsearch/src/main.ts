#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createElasticsearchSink } from './sink.js';

// The composition root: `vigil-elasticsearch [--config vigil.yaml]`.
await runSink({
  name: 'elasticsearch',
  configSchema,
  createSink: (config, deps) =>
    createElasticsearchSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
});
