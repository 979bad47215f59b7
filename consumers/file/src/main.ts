#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createFileSink } from './sink.js';

// The composition root: `vigil-file [--config vigil.yaml]`.
await runSink({
  name: 'file',
  configSchema,
  createSink: (config, deps) => createFileSink(config, { logger: deps.logger }),
});
