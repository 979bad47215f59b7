import type { Command } from 'commander';
import { loadRecorderConfig, runRec } from '@vigil/recorder/rec';
import { catFile, playFile, resolveRecording } from '@vigil/recorder/play';

/**
 * `vigil rec`, `vigil play`, `vigil cat`: record a terminal session (to the node gateway and
 * optionally an asciicast file), play a recording back with controls, print its output.
 * `vigil-rec` (producers/recorder/bin) is the same recorder without the rest of the CLI, for
 * profile.d.
 */
export function registerRecCommand(program: Command): void {
  const recording = (target: string) =>
    resolveRecording(target, {
      configFile: program.opts<{ config?: string }>().config,
      env: process.env,
    });
  program
    .command('rec')
    .description(
      'record a terminal session: your shell (or --command) in a pty, streamed to the gateway',
    )
    .argument('[file]', 'also write an asciicast file')
    .option(
      '--command <command>',
      'run this command instead of an interactive shell (-c is the global --config)',
    )
    .option('-l, --login', 'start the shell as a login shell')
    .option('--input', 'record keystrokes too (never while echo is off)')
    .option('--format <version>', 'asciicast version of the file: 2 or 3')
    .action(
      async (
        file: string | undefined,
        opts: { command?: string; login?: boolean; input?: boolean; format?: string },
      ) => {
        const flags: Record<string, unknown> = {};
        if (file) flags['file.path'] = file;
        if (opts.input) flags.input = true;
        if (opts.format) flags['file.version'] = Number(opts.format);
        const config = loadRecorderConfig({
          file: program.opts<{ config?: string }>().config,
          env: process.env,
          flags,
        });
        process.exitCode = await runRec(config, { command: opts.command, login: opts.login });
      },
    );

  program
    .command('play')
    .description(
      'play an asciicast file: space pause, . step, ←/→ 5 s, [/] markers, p/n commands, +/- speed, q quit',
    )
    .argument(
      '<file|session id>',
      "asciicast v2 or v3 file, or a session id (the file sink's cast)",
    )
    .option('-s, --speed <factor>', 'playback speed', Number)
    .option('-i, --idle-time-limit <seconds>', 'longest pause kept', Number)
    .action(async (file: string, opts: { speed?: number; idleTimeLimit?: number }) => {
      await playFile(recording(file), opts);
    });

  program
    .command('cat')
    .description('print the output of an asciicast file at once')
    .argument(
      '<file|session id>',
      "asciicast v2 or v3 file, or a session id (the file sink's cast)",
    )
    .action((file: string) => {
      catFile(recording(file));
    });
}
