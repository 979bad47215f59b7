#!/usr/bin/env node
import { runTransform } from '@vigil/pipeline/transform';
import { configSchema } from './config.js';
import { createEnrichWorker } from './worker.js';

// The composition root: `vigil-enrich [--config vigil.yaml]` (or `vigil worker enrich`).
const at = process.argv.indexOf('--config');
await runTransform({
  name: 'enrich',
  configSchema,
  configFile: at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG,
  createTransform: createEnrichWorker,
});
