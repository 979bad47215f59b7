#!/usr/bin/env node
import { runTransform } from '@vigil/pipeline/transform';
import { configSchema } from './config.js';
import { createEnrichWorker } from './worker.js';

// The composition root: `vigil-enrich [--config vigil.yaml]` (or `vigil worker enrich`).
await runTransform({
  name: 'enrich',
  configSchema,
  createTransform: createEnrichWorker,
});
