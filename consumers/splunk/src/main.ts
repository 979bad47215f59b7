#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createSplunkSink } from './sink.js';

// The composition root: `vigil-splunk [--config vigil.yaml]`.
await runSink({
  name: 'splunk',
  configSchema,
  createSink: (config, deps) =>
    createSplunkSink(config, { logger: deps.logger, registry: deps.telemetry.registry }),
});
