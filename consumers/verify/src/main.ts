#!/usr/bin/env node
import { runTransform } from '@vigil/pipeline/transform';
import { configSchema } from './config.js';
import { createVerifyWorker } from './worker.js';

// The composition root: `vigil-verify [--config vigil.yaml]` (or `vigil worker verify`).
await runTransform({
  name: 'verify',
  configSchema,
  createTransform: createVerifyWorker,
});
