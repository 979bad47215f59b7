import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';

/** Workers `vigil worker <name>` can start: consumer packages `@vigil/<name>` with a `vigil-<name>` bin. */
export const WORKERS = ['verify', 'enrich', 'elasticsearch', 'splunk', 'file'] as const;

/** The main script of a worker package (its `vigil-<name>` bin). Throws for an unknown worker. */
export function workerMain(name: string): string {
  if (!(WORKERS as readonly string[]).includes(name)) {
    throw new Error(`unknown worker ${JSON.stringify(name)} (known: ${WORKERS.join(', ')})`);
  }
  const manifest = createRequire(import.meta.url).resolve(`@vigil/${name}/package.json`);
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> })
    .bin?.[`vigil-${name}`];
  if (!bin) throw new Error(`@vigil/${name} has no vigil-${name} bin`);
  return join(dirname(manifest), bin);
}

/**
 * `vigil worker <name>`: runs a consumer worker in a child process (its own event loop, memory and
 * crash domain), with the `--config` file given to vigil; SIGTERM and SIGINT are passed on so it
 * drains, and vigil exits with the worker's status.
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      `run a consumer worker until SIGTERM (${WORKERS.join(', ')}); config: its section of --config, env VIGIL_<NAME>_*`,
    )
    .argument('<name>', `the worker: ${WORKERS.join(' | ')}`)
    .action(async (name: string) => {
      const main = workerMain(name);
      const file = program.opts<{ config?: string }>().config;
      const child = spawn(process.execPath, [main, ...(file ? ['--config', file] : [])], {
        stdio: 'inherit',
      });
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      process.on('SIGTERM', forward('SIGTERM'));
      process.on('SIGINT', forward('SIGINT'));
      const code = await new Promise<number>((resolve) =>
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1))),
      );
      process.exitCode = code;
    });
}
