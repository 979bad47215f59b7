import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadRecorderConfig, RECORDER_FAILED_STATUS, runRec } from './rec.js';

/**
 * `vigil-rec`: the recorder's own small entry point (profile.d starts it at every login, so it
 * loads nothing but the recorder). `vigil rec` in the CLI runs the same code.
 *
 *   vigil-rec [--login] [-c command] [-f file.cast] [--input] [--config vigil.yaml]
 */
const DEFAULT_CONFIG = '/etc/vigil/vigil.yaml';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      login: { type: 'boolean', short: 'l' },
      command: { type: 'string', short: 'c' },
      file: { type: 'string', short: 'f' },
      input: { type: 'boolean' },
      config: { type: 'string' },
    },
  });
  const file =
    values.config ??
    process.env.VIGIL_CONFIG ??
    (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  const flags: Record<string, unknown> = {};
  const path = values.file ?? positionals[0];
  if (path) flags['file.path'] = path;
  if (values.input) flags.input = true;
  const config = loadRecorderConfig({ file, env: process.env, flags });
  return runRec(config, { command: values.command, login: values.login });
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`vigil-rec: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = RECORDER_FAILED_STATUS;
  },
);
