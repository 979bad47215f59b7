#!/usr/bin/env node
import { runSink } from '@vigil/pipeline/sink';
import { configSchema } from './config.js';
import { createFileSink } from './sink.js';

// The composition root: `vigil-file [--config vigil.yaml]`.
const at = process.argv.indexOf('--config');
await runSink({
  name: 'file',
  configSchema,
  configFile: at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG,
  createSink: (config, deps) => createFileSink(config, { logger: deps.logger }),
});
