import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUuid, newEventId } from '@vigil/pipeline/events';
import type { RecorderConfig } from './config.js';
import type { SessionOutput } from './events.js';
import { createAsciicastOutput } from './outputs/asciicast.js';
import { createDeferredOutput } from './outputs/deferred.js';
import type { SpawnSettings } from './quick-config.js';
import { startSession, type SessionResult } from './session.js';

/**
 * `vigil rec`: the composition root of a recording. Picks the program and its shell integration,
 * puts the user's terminal in raw mode, starts the program, then builds the outputs, runs the
 * session and returns the exit status to pass on. The session itself knows nothing of sockets or
 * files.
 *
 * Start-up order (the user waits for the first prompt): only what the program's start needs is
 * loaded before it (`SpawnSettings`, node-pty, the asciicast writer); the config validation (zod),
 * the protobuf code and the gateway output are loaded right after, while the shell starts, and the
 * events of those first milliseconds wait in a deferred output. A config that turns out invalid
 * then leaves the session unrecorded: the user keeps a plain shell, the problem goes to stderr.
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
/** The output relay (relay/relay.c), built beside this file; without it the output goes through Node. */
const RELAY = fileURLToPath(new URL('./vigil-rec-relay', import.meta.url));

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

/** What a recording needs: the settings to start the program, and the whole config. */
export interface RecordPlan {
  readonly spawn: SpawnSettings;
  /** The validated config (its spawn settings agree with `spawn`); a rejection is a bad config. */
  readonly config: () => Promise<RecorderConfig>;
}

/**
 * The rest of the recorder (zod, the protobuf code: ~100 ms of loading on this machine) is loaded
 * once the program's first output has been shown and it has gone quiet (the first prompt), so
 * loading never stands between the user and that prompt; at the latest this long after the start.
 */
const QUIET_MS = 15;
const LOAD_AT_LATEST_MS = 100;

function firstQuietMoment(lastOutputAt: () => number): Promise<void> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const check = (): void => {
      const now = performance.now();
      const last = lastOutputAt();
      if ((last > 0 && now - last >= QUIET_MS) || now - startedAt >= LOAD_AT_LATEST_MS)
        return resolve();
      const wait = last > 0 ? QUIET_MS - (now - last) : QUIET_MS;
      setTimeout(check, Math.max(1, Math.min(wait, LOAD_AT_LATEST_MS - (now - startedAt))));
    };
    check();
  });
}

/** Events held while the outputs are being built (the first ~100-200 ms of a session). */
const DEFERRED_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Output processing off on the user's terminal: the bytes from the inner pty are already processed
 * (ONLCR done). libuv's raw mode keeps OPOST|ONLCR, which would turn every "\r\n" into "\r\r\n"
 * and cost the kernel a pass over every byte; setRawMode(false) restores the saved modes, OPOST
 * included. The relay turns it off itself before its first write; without it, `stty` runs while
 * the program starts (run synchronously it held up the first prompt by 3-8 ms here); resolves
 * once it has exited.
 */
function rawOutput(): Promise<void> {
  return new Promise((resolve) => {
    const stty = spawn('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'] });
    stty.on('error', () => resolve());
    stty.on('exit', () => resolve());
  });
}

/**
 * `out`, whose writes are held (in order) until opened and `until` has resolved: no byte goes out
 * before OPOST is off. `ready` resolves then (at once if never opened: the relay wrote it all).
 */
function gatedWriter(out: NodeJS.WritableStream): {
  write(data: Buffer): void;
  open(until: Promise<void>): void;
  readonly ready: Promise<void>;
} {
  let held: Buffer[] | undefined = [];
  let ready = Promise.resolve();
  let opened = false;
  return {
    write(data) {
      if (held) held.push(data);
      else out.write(data);
    },
    open(until) {
      if (opened) return;
      opened = true;
      ready = until.then(() => {
        for (const data of held ?? []) out.write(data);
        held = undefined;
      });
    },
    get ready() {
      return ready;
    },
  };
}

/** The outputs of a session, all of which can be stopped at once (a bad config). */
function stoppable(list: SessionOutput[]): SessionOutput & {
  add(output: SessionOutput): void;
  stop(): void;
} {
  let closing: Promise<unknown> | undefined;
  const closeAll = (): Promise<unknown> => (closing ??= Promise.all(list.map((o) => o.close())));
  return {
    add: (output) => void list.push(output),
    event(event) {
      if (closing) return;
      for (const output of list) output.event(event);
    },
    close: () => closeAll().then(() => undefined),
    stop: () => void closeAll(),
  };
}

/**
 * Runs one recorded session on this process's terminal; resolves with the status to exit with.
 * @throws when the program or the asciicast file cannot be started (nothing is running then).
 */
export async function record(plan: RecordPlan, options: RecOptions = {}): Promise<number> {
  const env = process.env;
  const settings = plan.spawn;
  const shell = settings.shell || env.SHELL || '/bin/sh';
  const sessionId = newEventId();
  const sessionText = formatUuid(sessionId);
  const invocation = shellInvocation(shell, {
    ...options,
    integration: settings.shellIntegration,
    env,
  });
  const stdin = process.stdin;
  const stdout = process.stdout;
  const isTty = stdin.isTTY && stdout.isTTY;
  const cols = (isTty && stdout.columns) || 80;
  const rows = (isTty && stdout.rows) || 24;

  const offsetOrigin = process.hrtime.bigint();
  const offsetNow = (): bigint => process.hrtime.bigint() - offsetOrigin;
  const startUnixNano = BigInt(Date.now()) * 1_000_000n;
  // The gateway output is built once the config is validated; until then its events wait.
  const gateway = createDeferredOutput(DEFERRED_MAX_BYTES);
  const outputs = stoppable([gateway]);
  if (settings.file.path)
    outputs.add(
      createAsciicastOutput({ path: settings.file.path, version: settings.file.version }),
    );

  const user = userInfo();
  if (isTty) stdin.setRawMode(true);
  const terminal = gatedWriter(stdout);
  const writeInNode = (): void => terminal.open(isTty ? rawOutput() : Promise.resolve());
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
        inputRecorded: settings.input,
      },
      outputs: [outputs],
      stdin,
      stdout: terminal,
      // The relay also takes the keystrokes from a terminal (fd 0; this process has not read it).
      relay: {
        path: RELAY,
        terminalFd: 1,
        ...(isTty ? { keysFd: 0 } : {}),
        onFallback: writeInNode,
      },
      ...(isTty
        ? {
            terminalSize: () => ({ cols: stdout.columns, rows: stdout.rows }),
            resizeSource: stdout,
          }
        : {}),
      batch: settings.batch,
      origin: offsetOrigin,
      wallClockNs: () => startUnixNano,
    });
    if (!session.relayed) writeInNode();
    // The program is starting; now the rest of the recorder.
    const hangup = (): void => session.hangup();
    process.on('SIGHUP', hangup);
    process.on('SIGTERM', hangup);
    void firstQuietMoment(() => session.lastOutputAt)
      .then(plan.config)
      .then(async (config) => {
        if (!config.gateway.enabled) return gateway.abandon();
        const { parseGatewayAddress, spoolDirOf, createGatewayOutput } = await import('./late.js');
        const address = parseGatewayAddress(config.gateway.address);
        if (typeof address === 'string') throw new Error(`recorder.gateway.address: ${address}`);
        gateway.attach(
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
      })
      .catch((error: unknown) => {
        // A bad config: this session is not recorded, the user keeps the program (a plain shell).
        gateway.abandon();
        outputs.stop();
        process.stderr.write(
          `vigil-rec: ${error instanceof Error ? error.message : String(error)}\r\nvigil-rec: this session is not recorded\r\n`,
        );
      });
    // The user's terminal hung up, or someone asked us to stop: hang up the program in turn.
    result = await session.done;
    process.off('SIGHUP', hangup);
    process.off('SIGTERM', hangup);
  } finally {
    await terminal.ready; // never after the modes are restored
    if (isTty) stdin.setRawMode(false);
    stdin.pause();
  }
  return result.exitStatus ?? 128 + result.signal;
}
