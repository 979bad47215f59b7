import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatUuid, parseUuid } from '@vigil/pipeline/events';
import { parse } from 'yaml';
import { loadRecorderConfig, type RecorderConfig } from './config.js';

/**
 * What `vigil play` and `vigil cat` are given: a file, or a session id. A session id is found as
 * the asciicast file the file sink writes per session, `<sessions dir>/<session id>.cast` (ids in
 * canonical lowercase form, consumers/file/src/sessions.ts), in `recorder.play.sessionsDir`, by
 * default the file sink's own: `<file.directory>/sessions`. The recorder keeps no per-session
 * files of its own (its asciicast file goes where the user says; its spool directory holds unsent
 * gateway frames, not recordings).
 */

/** The file sink's default `directory` (consumers/file/src/config.ts). */
export const FILE_SINK_DEFAULT_DIRECTORY = '/var/lib/vigil/files';

/** A session id, or a file that does not exist: says where it looked. */
export class RecordingNotFoundError extends Error {
  constructor(
    message: string,
    /** Every path tried. */
    readonly looked: readonly string[],
  ) {
    super(message);
    this.name = 'RecordingNotFoundError';
  }
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The canonical form (lowercase, dashed) of a session id, or undefined when `text` is none. */
export function sessionIdOf(text: string): string | undefined {
  return UUID.test(text) ? formatUuid(parseUuid(text)) : undefined;
}

/** `directory` of the file sink's section (`file:`) of a config file, if it sets one. */
function fileSinkDirectoryIn(configFile: string | undefined): string | undefined {
  if (!configFile) return undefined;
  try {
    const doc: unknown = parse(readFileSync(configFile, 'utf8'));
    const section = (doc as { file?: { directory?: unknown } } | null)?.file;
    return typeof section?.directory === 'string' && section.directory
      ? section.directory
      : undefined;
  } catch {
    // An unreadable config file is reported by loadRecorderConfig, not here.
    return undefined;
  }
}

/**
 * Where session casts are looked for: `recorder.play.sessionsDir`, else the file sink's sessions
 * directory (`VIGIL_FILE_DIRECTORY`, else `file.directory` of the same config file, else its
 * default, then `/sessions`).
 */
export function sessionsDirOf(
  config: RecorderConfig,
  options: { readonly configFile?: string | undefined; readonly env?: NodeJS.ProcessEnv } = {},
): string {
  if (config.play.sessionsDir) return config.play.sessionsDir;
  const env = options.env ?? process.env;
  const sink =
    env.VIGIL_FILE_DIRECTORY ||
    fileSinkDirectoryIn(options.configFile) ||
    FILE_SINK_DEFAULT_DIRECTORY;
  return join(sink, 'sessions');
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * The asciicast file to play for `target`: `target` itself when it is a file, else, for a session
 * id, `<sessions dir>/<id>.cast`. The recorder config is only read for a session id.
 * @throws {RecordingNotFoundError} naming where it looked.
 * @throws {ConfigError} when the config is needed and invalid.
 */
export function resolveRecording(
  target: string,
  options: {
    readonly configFile?: string | undefined;
    readonly env?: NodeJS.ProcessEnv;
    /** The config, when already loaded (else loaded from `configFile` and `env`). */
    readonly config?: RecorderConfig;
  } = {},
): string {
  if (isFile(target)) return target;
  const id = sessionIdOf(target);
  if (id === undefined) {
    throw new RecordingNotFoundError(
      `${target}: no such file, and not a session id (a UUID such as 0190f5e4-7c1a-7b2e-9c3d-4e5f60718293)`,
      [target],
    );
  }
  const config =
    options.config ??
    loadRecorderConfig({ file: options.configFile, env: options.env ?? process.env });
  const dir = sessionsDirOf(config, options);
  const path = join(dir, `${id}.cast`);
  if (isFile(path)) return path;
  throw new RecordingNotFoundError(
    `session ${id}: no recording at ${path} (the file sink's session casts; set recorder.play.sessionsDir or VIGIL_RECORDER_PLAY_SESSIONS_DIR to look elsewhere)`,
    [path],
  );
}
