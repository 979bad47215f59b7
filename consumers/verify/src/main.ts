#!/usr/bin/env node
import { runTransform } from '@vigil/pipeline/transform';
import { configSchema } from './config.js';
import { createVerifyWorker } from './worker.js';

// The composition root: `vigil-verify [--config vigil.yaml]` (or `vigil worker verify`).
const at = process.argv.indexOf('--config');
await runTransform({
  name: 'verify',
  configSchema,
  configFile: at >= 0 ? process.argv[at + 1] : process.env.VIGIL_CONFIG,
  createTransform: createVerifyWorker,
});
