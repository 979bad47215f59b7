#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createSplunkSink } from './sink.js';

// The composition root: `vigil-splunk [--config vigil.yaml]`.
const at = process.argv.indexOf('--config');
await runSink({
  name: 'splunk',
  configSchema,
  configFile: at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG,
  createSink: (config, deps) =>
    createSplunkSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
});
