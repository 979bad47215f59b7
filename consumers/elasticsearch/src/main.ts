#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createElasticsearchSink } from './sink.js';

// The composition root: `vigil-elasticsearch [--config vigil.yaml]`.
const at = process.argv.indexOf('--config');
await runSink({
  name: 'elasticsearch',
  configSchema,
  configFile: at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG,
  createSink: (config, deps) =>
    createElasticsearchSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
});
