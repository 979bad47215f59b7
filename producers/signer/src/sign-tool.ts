import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/**
 * The C/shell half of `vigil sign`: preload/tools/vigil-sign writes the note object and prints one
 * JSON line. This module finds the script and runs it.
 */

/** What vigil-sign prints on success. */
export const signToolOutputSchema = z.object({
  watermarkId: z.uuid(),
  package: z.string(),
  version: z.string(),
  builder: z.string(),
  time: z.string(),
  object: z.string(),
});
export type SignToolOutput = z.infer<typeof signToolOutputSchema>;

/** Options of vigil-sign (see its header comment). */
export interface SignToolOptions {
  readonly package: string;
  readonly version: string;
  readonly builder?: string | undefined;
  readonly align?: 4 | 8 | undefined;
  readonly out: string;
}

/**
 * tools/vigil-sign of the installed @vigil/preload workspace, found through Node's module
 * resolution from this file, so it does not depend on the current directory. `configured`
 * (config key `signTool`) wins when set. Throws when @vigil/preload is not installed.
 */
export function signToolPath(configured = ''): string {
  if (configured) return configured;
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vigil/preload/package.json')), 'tools', 'vigil-sign');
}

/** vigil-sign's command-line arguments. Pure. */
export function signToolArgs(options: SignToolOptions): string[] {
  return [
    '--package',
    options.package,
    '--version',
    options.version,
    ...(options.builder !== undefined ? ['--builder', options.builder] : []),
    ...(options.align !== undefined ? ['--align', String(options.align)] : []),
    '--out',
    options.out,
  ];
}

/** The outcome of one vigil-sign run. */
export interface SignToolRun {
  /** Its exit status (128 + signal number when killed). */
  readonly status: number;
  readonly stdout: string;
  /** The parsed JSON line, when it succeeded. */
  readonly output: SignToolOutput | undefined;
}

/**
 * Runs vigil-sign (with `sh`, so the script needs no execute bit); its stderr goes to ours.
 * Resolves with its status and output; rejects when it cannot be started, or when it succeeds
 * but prints something other than its JSON line.
 */
export function runSignTool(
  tool: string,
  options: SignToolOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SignToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [tool, ...signToolArgs(options)], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', (error) =>
      reject(new Error(`running ${tool}: ${error.message}`, { cause: error })),
    );
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(chunks).toString('utf8');
      const status = code ?? 128 + signalNumber(signal);
      if (status !== 0) return resolve({ status, stdout, output: undefined });
      try {
        const output = signToolOutputSchema.parse(JSON.parse(stdout.trim()));
        resolve({ status, stdout, output });
      } catch (error) {
        reject(
          new Error(`running ${tool}: expected one JSON line, got ${JSON.stringify(stdout)}`, {
            cause: error,
          }),
        );
      }
    });
  });
}

/** The number of a signal name, for the shell's 128+n exit status (1 when unknown). */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}
