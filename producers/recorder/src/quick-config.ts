import { readFileSync } from 'node:fs';

/**
 * The few settings needed before the program can start (which program, its shell integration,
 * input capture, the asciicast file, output batching), read the way `loadRecorderConfig` reads them (defaults < the
 * `recorder:` section of the file < `VIGIL_RECORDER_*` < flags) but without zod and
 * `@vigil/config`, whose loading alone took longer than the whole start-up budget. Everything is
 * still validated by `loadRecorderConfig`, just after the program has started.
 *
 * Returns undefined whenever one of these settings is not plainly valid (or the file cannot be
 * read): the caller then validates everything first, as before, and a bad value is reported
 * before anything starts. `config.test.ts` checks that both readings agree.
 */

export interface SpawnSettings {
  readonly shell: string | undefined;
  readonly shellIntegration: boolean;
  readonly input: boolean;
  readonly file: { readonly path: string | undefined; readonly version: 2 | 3 };
  readonly batch: { readonly maxBytes: number; readonly maxDelayMs: number };
}

export interface QuickConfigOptions {
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly flags?: Readonly<Record<string, unknown>>;
}

const PREFIX = 'VIGIL_RECORDER_';
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** Unset (undefined) or a value; `INVALID` stops the quick reading. */
const INVALID = Symbol('invalid');

export async function quickSpawnSettings(
  options: QuickConfigOptions = {},
): Promise<SpawnSettings | undefined> {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  let section: Record<string, unknown> = {};
  if (options.file) {
    try {
      const { parse } = await import('yaml');
      const doc: unknown = parse(readFileSync(options.file, 'utf8'));
      if (doc !== null && doc !== undefined) {
        if (!isRecord(doc)) return undefined;
        const value = doc.recorder;
        if (value !== null && value !== undefined) {
          if (!isRecord(value)) return undefined;
          section = value;
        }
      }
    } catch {
      return undefined;
    }
  }
  const fileSection = section.file;
  const batchSection = section.batch;
  if (fileSection !== undefined && !isRecord(fileSection)) return undefined;
  if (batchSection !== undefined && !isRecord(batchSection)) return undefined;

  // Same layering and the same environment readings as loadConfig (a value is read as what the
  // key's schema accepts: file.version, a 2 | 3 union, as a number).
  const pick = (
    fromFile: unknown,
    variable: string,
    flag: string,
    type: 'string' | 'boolean' | 'number',
  ): unknown => {
    let value = fromFile;
    const text = env[PREFIX + variable];
    if (text !== undefined) {
      const trimmed = text.trim();
      if (type === 'boolean' && /^(true|false)$/i.test(trimmed))
        value = trimmed.toLowerCase() === 'true';
      else if (type === 'number' && /^-?\d+(\.\d+)?$/.test(trimmed)) value = Number(trimmed);
      else value = text;
    }
    if (flags[flag] !== undefined) value = flags[flag];
    return value;
  };
  const text = (value: unknown, minLength: number): string | undefined | typeof INVALID =>
    value === undefined
      ? undefined
      : typeof value === 'string' && value.length >= minLength
        ? value
        : INVALID;
  const bool = (value: unknown, fallback: boolean): boolean | typeof INVALID =>
    value === undefined ? fallback : typeof value === 'boolean' ? value : INVALID;

  const shell = text(pick(section.shell, 'SHELL', 'shell', 'string'), 0);
  const shellIntegration = bool(
    pick(section.shellIntegration, 'SHELL_INTEGRATION', 'shellIntegration', 'boolean'),
    true,
  );
  const input = bool(pick(section.input, 'INPUT', 'input', 'boolean'), false);
  const path = text(pick(fileSection?.path, 'FILE_PATH', 'file.path', 'string'), 1);
  const versionValue = pick(fileSection?.version, 'FILE_VERSION', 'file.version', 'number') ?? 2;
  const int = (value: unknown, fallback: number, min: number, max: number): number | undefined => {
    const n = value ?? fallback;
    return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  };
  const maxBytes = int(
    pick(batchSection?.maxBytes, 'BATCH_MAX_BYTES', 'batch.maxBytes', 'number'),
    64 * 1024,
    1024,
    512 * 1024,
  );
  const maxDelayMs = int(
    pick(batchSection?.maxDelayMs, 'BATCH_MAX_DELAY_MS', 'batch.maxDelayMs', 'number'),
    20,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  if (
    maxBytes === undefined ||
    maxDelayMs === undefined ||
    shell === INVALID ||
    shellIntegration === INVALID ||
    input === INVALID ||
    path === INVALID ||
    (versionValue !== 2 && versionValue !== 3)
  )
    return undefined;
  return {
    shell,
    shellIntegration,
    input,
    file: { path, version: versionValue },
    batch: { maxBytes, maxDelayMs },
  };
}
