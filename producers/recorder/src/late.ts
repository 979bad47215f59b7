/**
 * The part of the recorder loaded after the program's first prompt (record.ts, main.ts): config
 * validation (zod, @vigil/config, yaml) and the gateway output (the protobuf code). One module, so
 * that `vigil-rec` loads it as one bundled file (scripts/bundle.mjs).
 */
export { loadRecorderConfig, parseGatewayAddress, spoolDirOf } from './config.js';
export { createGatewayOutput } from './outputs/gateway.js';
