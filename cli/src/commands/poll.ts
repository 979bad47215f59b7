import type { Command } from 'commander';
import { runPoller } from '@vigil/poller/run';

/**
 * `vigil poll`: the grid poller (producers/poller). Reads the `poller:` section of the config file,
 * polls every source until SIGTERM/SIGINT, and applies changes to the file without a restart.
 */
export function registerPollCommand(program: Command): void {
  program
    .command('poll')
    .description('poll Checkmk, Icinga 2 and Nagios sources; service states and changes to Kafka')
    .action(async () => {
      const file = program.opts<{ config?: string }>().config;
      const running = await runPoller({ file });
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
