import type { RecorderConfig } from './config.js';
import { record, type RecOptions } from './record.js';

export { loadRecorderConfig, recorderConfigTable, type RecorderConfig } from './config.js';
export { RECORDER_FAILED_STATUS, SESSION_ENV, shellInvocation, type RecOptions } from './record.js';

/**
 * `vigil rec` with a config that is already validated (the CLI's path; `vigil-rec` starts the
 * program before it validates, see main.ts). Resolves with the status to exit with.
 */
export function runRec(config: RecorderConfig, options: RecOptions = {}): Promise<number> {
  return record(
    {
      spawn: {
        shell: config.shell,
        shellIntegration: config.shellIntegration,
        input: config.input,
        file: { path: config.file.path, version: config.file.version },
        batch: config.batch,
      },
      config: () => Promise.resolve(config),
    },
    options,
  );
}
