import { homedir } from 'node:os';
import { join } from 'node:path';
import { configTable, loadConfig } from '@vigil/config/config';
import { z } from 'zod';

/**
 * The recorder's configuration: the `recorder:` section of the Vigil config file, `VIGIL_RECORDER_*`
 * overrides, then flags. Validated once, before the pty is opened.
 */

/** "unix:<absolute path>" or "tcp:<host>:<port>"; the problem as a string when invalid. Pure. */
export function parseGatewayAddress(
  text: string,
): { readonly path: string } | { readonly host: string; readonly port: number } | string {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    return path.startsWith('/') ? { path } : `"${text}": the socket path must be absolute`;
  }
  const match = /^tcp:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65_535) {
    return `"${text}": expected unix:<path> or tcp:<host>:<port>`;
  }
  return { host: match[1] ?? match[2]!, port };
}

/** The spool directory to use: the configured one, or the user's state directory. */
export const spoolDirOf = (config: RecorderConfig): string => config.gateway.spoolDir || stateDir();

const stateDir = (): string =>
  join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'vigil', 'recorder');

export const recorderConfigSchema = z.strictObject({
  host: z
    .string()
    .default('')
    .describe('Host name in every event. Empty: the machine\u2019s host name'),
  shell: z
    .string()
    .optional()
    .describe('Program to record when no command is given. Default: $SHELL, else /bin/sh'),
  shellIntegration: z
    .boolean()
    .default(true)
    .describe(
      'Inject command marks into bash (PS0, PROMPT_COMMAND) and zsh (preexec, precmd) for command events',
    ),
  input: z
    .boolean()
    .default(false)
    .describe('Record keystrokes (never while the terminal has echo off in line mode: passwords)'),
  gateway: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Stream events to the node gateway'),
      address: z
        .string()
        .default('unix:/run/vigil/gateway.sock')
        .superRefine((value, ctx) => {
          const parsed = parseGatewayAddress(value);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
        })
        .describe('The gateway stream socket: unix:<path> or tcp:<host>:<port>'),
      spoolMaxBytes: z
        .int()
        .min(64 * 1024)
        .default(16 * 1024 * 1024)
        .describe(
          'Events held in memory while the gateway is slow or away; beyond, they are dropped and reported',
        ),
      reconnectInitialMs: z
        .int()
        .positive()
        .default(200)
        .describe('First wait before reconnecting'),
      reconnectMaxMs: z
        .int()
        .positive()
        .default(10_000)
        .describe('Longest wait between reconnects'),
      closeTimeoutMs: z
        .int()
        .min(0)
        .default(500)
        .describe(
          'At the end, how long to keep sending before the rest goes to the spool directory',
        ),
      spoolDir: z
        .string()
        .default('')
        .describe(
          'Where unsent events are kept between sessions (sent by the next session). Empty: $XDG_STATE_HOME/vigil/recorder (~/.local/state/vigil/recorder)',
        ),
      spoolDirMaxBytes: z
        .int()
        .min(0)
        .default(64 * 1024 * 1024)
        .describe('Bound of the spool directory; 0 disables it'),
    })
    .prefault({}),
  file: z
    .strictObject({
      path: z.string().min(1).optional().describe('Also write an asciicast file here'),
      version: z
        .union([z.literal(2), z.literal(3)])
        .default(2)
        .describe('asciicast version of the file'),
    })
    .prefault({}),
  batch: z
    .strictObject({
      maxBytes: z
        .int()
        .min(1024)
        .max(512 * 1024)
        .default(64 * 1024)
        .describe('Output bytes per event at most'),
      maxDelayMs: z
        .int()
        .min(0)
        .default(20)
        .describe('How long output waits for more before it becomes an event'),
    })
    .prefault({}),
  play: z
    .strictObject({
      sessionsDir: z
        .string()
        .default('')
        .describe(
          "Where play/cat find `<session id>.cast`. Empty: the file sink's, `<VIGIL_FILE_DIRECTORY or file.directory or /var/lib/vigil/files>/sessions`",
        ),
    })
    .prefault({}),
});

export type RecorderConfig = z.infer<typeof recorderConfigSchema>;

export const RECORDER_SECTION = 'recorder';
export const RECORDER_ENV_PREFIX = 'VIGIL_RECORDER_';

/**
 * Defaults < the `recorder:` section of `file` < `VIGIL_RECORDER_*` < flags. Synchronous.
 * @throws {ConfigError} naming every bad key.
 */
export function loadRecorderConfig(
  options: {
    file?: string | undefined;
    env?: NodeJS.ProcessEnv;
    flags?: Record<string, unknown>;
  } = {},
): RecorderConfig {
  return loadConfig(recorderConfigSchema, {
    section: RECORDER_SECTION,
    envPrefix: RECORDER_ENV_PREFIX,
    file: options.file,
    ...(options.env ? { env: options.env } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
}

/** The README table of every setting. Pure. */
export function recorderConfigTable(): string {
  return configTable(recorderConfigSchema, {
    section: RECORDER_SECTION,
    envPrefix: RECORDER_ENV_PREFIX,
  });
}
