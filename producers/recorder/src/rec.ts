import { readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUuid, newEventId } from '@vigil/pipeline/events';
import { parseGatewayAddress, spoolDirOf, type RecorderConfig } from './config.js';
import type { SessionOutput } from './events.js';
import { createAsciicastOutput } from './outputs/asciicast.js';
import { createGatewayOutput } from './outputs/gateway.js';
import { startSession, type SessionResult } from './session.js';

export { loadRecorderConfig, recorderConfigTable, type RecorderConfig } from './config.js';

/**
 * `vigil rec`: the composition root of a recording. Picks the program and its shell integration,
 * builds the outputs from the config, puts the user's terminal in raw mode, runs the session and
 * returns the exit status to pass on. The session itself knows nothing of sockets or files.
 */

/** Set in the recorded program's environment: the session id; also the guard against nesting. */
export const SESSION_ENV = 'VIGIL_REC_SESSION';
/** Exit status of `vigil-rec` when it could not start recording (profile.d then runs a plain shell). */
export const RECORDER_FAILED_STATUS = 254;

export interface RecOptions {
  /** Run this command line with the shell's -c instead of an interactive shell. */
  readonly command?: string | undefined;
  /** Start the shell as a login shell. */
  readonly login?: boolean | undefined;
}

const SHELL_DIR = fileURLToPath(new URL('../shell/', import.meta.url));

/** The program, its arguments and environment additions for a shell (pure). */
export function shellInvocation(
  shell: string,
  options: RecOptions & { integration: boolean; env: NodeJS.ProcessEnv },
): { file: string; args: string[]; env: Record<string, string>; integrated: boolean } {
  const name = basename(shell);
  if (options.command !== undefined)
    return { file: shell, args: ['-c', options.command], env: {}, integrated: false };
  if (options.integration && name === 'bash') {
    return {
      file: shell,
      args: ['--rcfile', `${SHELL_DIR}bashrc`, '-i'],
      env: options.login ? { VIGIL_REC_LOGIN: '1' } : {},
      integrated: true,
    };
  }
  if (options.integration && name === 'zsh') {
    return {
      file: shell,
      args: options.login ? ['-i', '-l'] : ['-i'],
      env: {
        ZDOTDIR: `${SHELL_DIR}zsh`,
        VIGIL_REC_USER_ZDOTDIR: options.env.ZDOTDIR || options.env.HOME || '',
      },
      integrated: true,
    };
  }
  return { file: shell, args: options.login ? ['-l'] : [], env: {}, integrated: false };
}

function ttyName(): string {
  try {
    return readlinkSync('/proc/self/fd/0');
  } catch {
    return '';
  }
}

/** Runs one recorded session on this process's terminal; resolves with the status to exit with. */
export async function runRec(config: RecorderConfig, options: RecOptions = {}): Promise<number> {
  const env = process.env;
  const shell = config.shell || env.SHELL || '/bin/sh';
  const sessionId = newEventId();
  const sessionText = formatUuid(sessionId);
  const invocation = shellInvocation(shell, {
    ...options,
    integration: config.shellIntegration,
    env,
  });
  const stdin = process.stdin;
  const stdout = process.stdout;
  const isTty = stdin.isTTY && stdout.isTTY;
  const cols = (isTty && stdout.columns) || 80;
  const rows = (isTty && stdout.rows) || 24;

  const offsetOrigin = process.hrtime.bigint();
  const offsetNow = (): bigint => process.hrtime.bigint() - offsetOrigin;
  const outputs: SessionOutput[] = [];
  const startUnixNano = BigInt(Date.now()) * 1_000_000n;
  if (config.gateway.enabled) {
    const address = parseGatewayAddress(config.gateway.address);
    if (typeof address === 'string') throw new Error(`recorder.gateway.address: ${address}`);
    outputs.push(
      createGatewayOutput({
        address,
        context: {
          sessionId,
          host: config.host || hostname(),
          producerId: `recorder/${sessionText}`,
          startUnixNano,
        },
        spoolMaxBytes: config.gateway.spoolMaxBytes,
        reconnectInitialMs: config.gateway.reconnectInitialMs,
        reconnectMaxMs: config.gateway.reconnectMaxMs,
        closeTimeoutMs: config.gateway.closeTimeoutMs,
        spoolDir: spoolDirOf(config),
        spoolDirMaxBytes: config.gateway.spoolDirMaxBytes,
        offsetNow,
      }),
    );
  }
  if (config.file.path)
    outputs.push(createAsciicastOutput({ path: config.file.path, version: config.file.version }));

  const user = userInfo();
  if (isTty) stdin.setRawMode(true);
  stdin.resume();
  let result: SessionResult;
  try {
    const session = startSession({
      file: invocation.file,
      args: invocation.args,
      env: { ...env, ...invocation.env, [SESSION_ENV]: sessionText },
      cwd: process.cwd(),
      info: {
        user: user.username,
        uid: user.uid,
        tty: isTty ? ttyName() : '',
        term: env.TERM ?? '',
        shell,
        command: options.command !== undefined ? [options.command] : [],
        cols,
        rows,
        sshClient: (env.SSH_CONNECTION ?? env.SSH_CLIENT ?? '').split(' ')[0] ?? '',
        jobId: env.SLURM_JOB_ID ?? env.PBS_JOBID ?? env.LSB_JOBID ?? '',
        inputRecorded: config.input,
      },
      outputs,
      stdin,
      stdout,
      ...(isTty
        ? {
            terminalSize: () => ({ cols: stdout.columns, rows: stdout.rows }),
            resizeSource: stdout,
          }
        : {}),
      batch: config.batch,
      clock: () => process.hrtime.bigint(),
      origin: offsetOrigin,
      wallClockNs: () => startUnixNano,
    });
    // The user's terminal hung up, or someone asked us to stop: hang up the program in turn.
    const hangup = (): void => session.hangup();
    process.on('SIGHUP', hangup);
    process.on('SIGTERM', hangup);
    result = await session.done;
    process.off('SIGHUP', hangup);
    process.off('SIGTERM', hangup);
  } finally {
    if (isTty) stdin.setRawMode(false);
    stdin.pause();
  }
  return result.exitStatus ?? 128 + result.signal;
}
