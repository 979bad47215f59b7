import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { quickSpawnSettings } from './quick-config.js';
import { RECORDER_FAILED_STATUS, record } from './record.js';

/**
 * `vigil-rec`: the recorder's own small entry point (profile.d starts it at every login, so it
 * loads nothing but the recorder). `vigil rec` in the CLI runs the same code, but validates the
 * config first; here the program is started first and the config validated right after (zod and
 * the protobuf code take longer to load than the whole start-up budget), see record.ts. A setting
 * the program's start depends on that is not plainly valid is validated first, as before.
 *
 *   vigil-rec [--login] [-c command] [-f file.cast] [--input] [--config vigil.yaml]
 */
const DEFAULT_CONFIG = '/etc/vigil/vigil.yaml';

/**
 * bin/vigil-rec.cjs starts Node with NODE_EXTRA_CA_CERTS empty (Node 20 parses that file at
 * start-up; the recorder never uses TLS) and the value in VIGIL_REC_EXTRA_CA_CERTS: put it back
 * for the recorded program. (An empty value, which Node ignores, reaches the program unset.)
 */
function restoreExtraCaCerts(env: NodeJS.ProcessEnv): void {
  const saved = env.VIGIL_REC_EXTRA_CA_CERTS;
  if (saved === undefined) return;
  delete env.VIGIL_REC_EXTRA_CA_CERTS;
  if (saved) env.NODE_EXTRA_CA_CERTS = saved;
  else delete env.NODE_EXTRA_CA_CERTS;
}

async function main(): Promise<number> {
  restoreExtraCaCerts(process.env);
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
  const configOptions = { file, env: process.env, flags };
  const loadConfig = async () => (await import('./late.js')).loadRecorderConfig(configOptions);
  const options = { command: values.command, login: values.login };
  const spawn = await quickSpawnSettings(configOptions);
  if (spawn) return record({ spawn, config: loadConfig }, options);
  // Not plainly valid: validate everything before starting anything (throws: exit 254).
  const { runRec } = await import('./rec.js');
  return runRec(await loadConfig(), options);
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
